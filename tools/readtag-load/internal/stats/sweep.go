package stats

import (
	"fmt"
	"io"
	"time"
)

// mem-sweep measures memory per idle reader at several reader counts, each
// against a freshly started server; these are its results.

// SweepReport is what mem-sweep writes with --json; `chart` draws it.
type SweepReport struct {
	Tool      string       `json:"tool"`
	Kind      string       `json:"kind"` // "mem-sweep"
	Machine   Machine      `json:"machine"`
	Command   string       `json:"command"`
	Start     time.Time    `json:"start"`
	Label     string       `json:"label"`
	ServerCmd string       `json:"server_cmd"`
	Posts     int          `json:"posts_count"`
	Ramp      string       `json:"ramp"`
	Duration  string       `json:"duration"`
	Points    []SweepPoint `json:"points"`
	// Runs are the idle runs, one per point, as idle --json writes them.
	Runs []*Result `json:"runs"`
}

// SweepPoint is one step of the sweep.
type SweepPoint struct {
	Readers   int   `json:"readers"`
	Welcomed  int64 `json:"welcomed"`
	Failed    int64 `json:"failed"`
	OpenAtEnd int64 `json:"open_at_end"`
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSHold   int64 `json:"rss_hold_bytes"`
	// MemPerReader is (RSS hold - RSS before) / open readers, in bytes.
	MemPerReader float64 `json:"mem_per_reader_bytes"`
	// SettledAfter is how long RSS took to settle after the last join.
	SettledAfter string `json:"rss_settled_after"`
	Error        string `json:"error,omitempty"`
}

// PrintSweep writes the sweep's table.
func PrintSweep(w io.Writer, rep *SweepReport) {
	fmt.Fprintf(w, "\nmemory per idle reader: %s (%s)\n", rep.Label, rep.ServerCmd)
	fmt.Fprintf(w, "%10s %10s %8s %12s %12s %14s %10s\n", "readers", "open", "failed", "RSS before", "RSS hold", "per reader", "settled")
	for _, p := range rep.Points {
		per := "n/a"
		if p.MemPerReader > 0 {
			per = fmt.Sprintf("%.1f KiB", p.MemPerReader/1024)
		}
		fmt.Fprintf(w, "%10d %10d %8d %12s %12s %14s %10s", p.Readers, p.OpenAtEnd, p.Failed,
			bytesHuman(float64(p.RSSBefore)), bytesHuman(float64(p.RSSHold)), per, p.SettledAfter)
		if p.Error != "" {
			fmt.Fprintf(w, "  error: %s", p.Error)
		}
		fmt.Fprintln(w)
	}
}
