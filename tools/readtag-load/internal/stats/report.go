package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run found, as written by --json.
type Report struct {
	Tool     string    `json:"tool"`
	Machine  Machine   `json:"machine"`
	Command  string    `json:"command"`
	Args     []string  `json:"args"`
	Start    time.Time `json:"start"`
	Scenario string    `json:"scenario"`
	Params   Params    `json:"params"`
	Runs     []*Result `json:"runs"`
	// Ratios compare the baseline with readtag (--compare).
	Ratios []Ratio `json:"ratios,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	NumCPU        int    `json:"num_cpu"`
	GOOS          string `json:"goos"`
	GOARCH        string `json:"goarch"`
	Hostname      string `json:"hostname"`
	GoVersion     string `json:"go_version"`
	OpenFileLimit uint64 `json:"open_file_limit"`
}

// Params are the scenario's parameters after defaults.
type Params struct {
	Readers    int      `json:"readers"`
	Post       string   `json:"post,omitempty"`
	Posts      []string `json:"posts,omitempty"`
	PostsCount int      `json:"posts_count,omitempty"`
	// EmbedSites, EmbedPages and EmbedOrigin: readers joined embedded
	// pages instead of posts.
	EmbedSites  int      `json:"embed_sites,omitempty"`
	EmbedPages  int      `json:"embed_pages,omitempty"`
	EmbedOrigin string   `json:"embed_origin,omitempty"`
	Rate        float64  `json:"rate,omitempty"`
	Duration    string   `json:"duration"`
	Ramp        string   `json:"ramp"`
	Life        string   `json:"life,omitempty"`
	Targets     []string `json:"targets"`
	Procs       int      `json:"procs"`
	SourceIPs   []string `json:"source_ips,omitempty"`
	PID         int      `json:"pid,omitempty"`
	Metrics     string   `json:"metrics,omitempty"`
	Baseline    bool     `json:"baseline,omitempty"`
	Compare     bool     `json:"compare,omitempty"`
}

// Result is one load run (the baseline is a second one).
type Result struct {
	Label    string   `json:"label"`
	Scenario string   `json:"scenario"`
	Targets  []string `json:"targets"`
	// Posts are the rooms the readers joined: post slugs, or embedded
	// pages' URLs when Sites is set (the number of sites they are on).
	Posts   []string `json:"posts"`
	PostN   int      `json:"post_count"`
	Sites   int      `json:"sites,omitempty"`
	Readers int      `json:"readers"`
	Procs   int      `json:"procs"`
	Rate    float64  `json:"rate,omitempty"`
	// Zipf runs (hot --zipf): the exponent, the placement and, per post,
	// its readers on each target (in Targets' order).
	Zipf      float64          `json:"zipf,omitempty"`
	Place     string           `json:"place,omitempty"`
	Placement map[string][]int `json:"placement,omitempty"`

	Welcomed  int64 `json:"welcomed"`
	Failed    int64 `json:"failed"`
	OpenAtEnd int64 `json:"open_at_end"`
	Closed    int64 `json:"closed"`
	Lost      int64 `json:"lost"`
	Errors    int64 `json:"errors"`

	DialErrors  map[string]int64 `json:"dial_errors,omitempty"`
	Closes      map[string]int64 `json:"unexpected_closes,omitempty"`
	ErrorFrames map[string]int64 `json:"error_frames,omitempty"`

	JoinMs           *Summary `json:"join_ms,omitempty"`
	ConnectMs        *Summary `json:"connect_ms,omitempty"`   // dial → TCP established
	UpgradeMs        *Summary `json:"upgrade_ms,omitempty"`   // TCP established → 101
	HandshakeMs      *Summary `json:"handshake_ms,omitempty"` // dial → 101
	WelcomeMs        *Summary `json:"welcome_ms,omitempty"`   // 101 → welcome
	WindowSeconds    float64  `json:"window_seconds"`
	LatencyMs        *Summary `json:"latency_ms,omitempty"`
	LatencyBucketsMs []Bucket `json:"latency_buckets_ms,omitempty"`
	// Same node: mover and receiver joined the same target; cross node:
	// different targets (several --targets only).
	LatencySameMs  *Summary `json:"latency_same_node_ms,omitempty"`
	LatencyCrossMs *Summary `json:"latency_cross_node_ms,omitempty"`

	UpdatesPerSec         float64 `json:"updates_per_sec"`
	FramesRecvPerSec      float64 `json:"frames_recv_per_sec"`
	BytesRecvPerSec       float64 `json:"bytes_recv_per_sec"`
	FramesSentPerSec      float64 `json:"frames_sent_per_sec"`
	FramesPerClientPerSec float64 `json:"frames_per_client_per_sec"`
	BytesPerClientPerSec  float64 `json:"bytes_per_client_per_sec"`
	LoadgenCPUPercent     float64 `json:"loadgen_cpu_percent"`

	Server *ServerReport `json:"server,omitempty"`
	Views  *ViewsReport  `json:"views,omitempty"`
	Error  string        `json:"error,omitempty"`
	// Stats is the raw merged counters, histograms included.
	Stats Stats `json:"stats"`

	// Raw is what the run measured, from which Fill computes the fields
	// above; it is not written out.
	Raw Raw `json:"-"`
}

// Raw is one run's measurements before Fill summarises them.
type Raw struct {
	// Sampler sampled the server, if anything did.
	Sampler *Sampler
	// The server before the first connect, at the measured window's start
	// and end, and after the run.
	Before, Window0, Window1, After ServerSample
	// CPU0 and CPU1 are the load generator's CPU ticks at the window's
	// start and end; Window is how long it was open and OpenAtEnd how many
	// readers were open at its end.
	CPU0, CPU1 int64
	Window     time.Duration
	OpenAtEnd  int64
	// Final is the fleet's counters once it stopped.
	Final *Stats
}

// Summary is a distribution in milliseconds.
type Summary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

func summarize(h *Histogram, scale float64) *Summary {
	if h.Count() == 0 {
		return nil
	}
	return &Summary{Count: h.Count(), P50: h.Quantile(0.5) / scale, P95: h.Quantile(0.95) / scale,
		P99: h.Quantile(0.99) / scale, Max: float64(h.Max()) / scale, Mean: h.Mean() / scale}
}

// ServerReport is what was seen of the server process.
type ServerReport struct {
	PID     int    `json:"pid,omitempty"`
	Metrics string `json:"metrics,omitempty"`
	// RSS before connecting, at the end of the measured window, and after
	// the run.
	RSSBefore int64 `json:"rss_before_bytes,omitempty"`
	RSSHold   int64 `json:"rss_hold_bytes,omitempty"`
	RSSAfter  int64 `json:"rss_after_bytes,omitempty"`
	// MemPerReader is (RSS hold - RSS before) / open readers; only
	// meaningful on a fresh server (Go returns freed memory to the OS
	// slowly, so a server that served an earlier run starts high).
	MemPerReader float64 `json:"mem_per_reader_bytes,omitempty"`
	// CPUPercent is over the measured window, in percent of one core.
	CPUPercent       *float64       `json:"cpu_percent,omitempty"`
	Threads          int64          `json:"threads,omitempty"`
	ThreadsBefore    int64          `json:"threads_before,omitempty"`
	ThreadsAfter     int64          `json:"threads_after,omitempty"`
	GoroutinesBefore *float64       `json:"goroutines_before,omitempty"`
	GoroutinesHold   *float64       `json:"goroutines_hold,omitempty"`
	GoroutinesAfter  *float64       `json:"goroutines_after,omitempty"`
	ReadersHold      *float64       `json:"readers_metric_hold,omitempty"`
	ReadersAfter     *float64       `json:"readers_metric_after,omitempty"`
	MetricsError     string         `json:"metrics_error,omitempty"`
	Samples          []ServerSample `json:"samples,omitempty"`
}

// ViewsReport is the storm's check of every reader's view.
type ViewsReport struct {
	Agree          bool    `json:"agree"`
	Checked        int     `json:"checked"`
	Mismatches     int     `json:"mismatches"`
	Pending        int     `json:"pending"` // open but never welcomed
	DuplicateIDs   int     `json:"duplicate_ids"`
	SettledAfterMs float64 `json:"settled_after_ms"`
	// CrowdPosts is how many posts were in crowd mode, where views are
	// checked against the announced total rather than id by id.
	CrowdPosts int      `json:"crowd_posts,omitempty"`
	Examples   []string `json:"examples,omitempty"`
}

// Ratio is one metric of the baseline divided by readtag's.
type Ratio struct {
	Metric   string  `json:"metric"`
	Readtag  float64 `json:"readtag"`
	Baseline float64 `json:"baseline"`
	Ratio    float64 `json:"ratio"` // baseline / readtag; 0 when undefined
}

// Fill computes the exported fields from the raw measurements.
func (r *Result) Fill() {
	st := r.Raw.Final
	if st == nil {
		return
	}
	r.Stats = st.Clone()
	r.Welcomed, r.Failed, r.Closed, r.Lost = st.Welcomed, st.Failed, st.Closed, st.Lost
	r.OpenAtEnd = r.Raw.OpenAtEnd
	r.Errors = st.ErrorCount()
	r.DialErrors, r.Closes, r.ErrorFrames = st.DialErrors, st.Closes, st.ErrorTexts
	r.JoinMs = summarize(&st.JoinTime, 1000)
	r.ConnectMs = summarize(&st.ConnectTime, 1000)
	r.UpgradeMs = summarize(&st.UpgradeTime, 1000)
	r.HandshakeMs = summarize(&st.HandshakeTime, 1000)
	r.WelcomeMs = summarize(&st.WelcomeTime, 1000)
	secs := r.Raw.Window.Seconds()
	r.WindowSeconds = secs
	w := &st.Window
	r.LatencyMs = summarize(&w.Latency, 1)
	r.LatencyBucketsMs = w.Latency.Buckets()
	r.LatencySameMs = summarize(&w.LatencySame, 1)
	r.LatencyCrossMs = summarize(&w.LatencyCross, 1)
	if secs > 0 {
		r.UpdatesPerSec = float64(w.Updates) / secs
		r.FramesRecvPerSec = float64(w.FramesRecv) / secs
		r.BytesRecvPerSec = float64(w.BytesRecv) / secs
		r.FramesSentPerSec = float64(w.FramesSent) / secs
		// Per client means per reader open through the window; churn's
		// readers come and go, so it has no such figure.
		if clients := r.Raw.OpenAtEnd; clients > 0 {
			r.FramesPerClientPerSec = r.FramesRecvPerSec / float64(clients)
			r.BytesPerClientPerSec = r.BytesRecvPerSec / float64(clients)
		}
		if r.Raw.CPU1 > 0 {
			r.LoadgenCPUPercent = CPUPercent(r.Raw.CPU1-r.Raw.CPU0, r.Raw.Window)
		}
	}
	if !r.Raw.Sampler.Enabled() {
		return
	}
	sp := &r.Raw
	sr := &ServerReport{PID: sp.Sampler.pid, Metrics: sp.Sampler.metrics, Samples: sp.Sampler.samples}
	if v, ok := sp.Before.rss(); ok {
		sr.RSSBefore = v
	}
	if v, ok := sp.Window1.rss(); ok {
		sr.RSSHold = v
		if n := sp.OpenAtEnd; n > 0 && sr.RSSBefore > 0 && sr.RSSHold > sr.RSSBefore {
			sr.MemPerReader = float64(sr.RSSHold-sr.RSSBefore) / float64(n)
		}
	}
	if v, ok := sp.After.rss(); ok {
		sr.RSSAfter = v
	}
	if sp.Window0.HasProc && sp.Window1.HasProc {
		c := CPUPercent(sp.Window1.CPUTicks-sp.Window0.CPUTicks, sp.Window1.At.Sub(sp.Window0.At))
		sr.CPUPercent = &c
	}
	sr.Threads, sr.ThreadsBefore, sr.ThreadsAfter = sp.Window1.Threads, sp.Before.Threads, sp.After.Threads
	sr.GoroutinesBefore, sr.GoroutinesHold, sr.GoroutinesAfter = sp.Before.Goroutines, sp.Window1.Goroutines, sp.After.Goroutines
	sr.ReadersHold, sr.ReadersAfter = sp.Window1.Readers, sp.After.Readers
	for _, s := range []ServerSample{sp.Before, sp.Window1, sp.After} {
		if s.MetricsFailed != "" {
			sr.MetricsError = s.MetricsFailed
		}
	}
	r.Server = sr
}

// Ratios compares the baseline run b with readtag's run a.
func Ratios(a, b *Result) []Ratio {
	row := func(m string, x, y float64) Ratio {
		r := Ratio{Metric: m, Readtag: x, Baseline: y}
		if x > 0 {
			r.Ratio = y / x
		}
		return r
	}
	out := []Ratio{
		row("frames/s per client", a.FramesPerClientPerSec, b.FramesPerClientPerSec),
		row("bytes/s per client", a.BytesPerClientPerSec, b.BytesPerClientPerSec),
		row("updates/s", a.UpdatesPerSec, b.UpdatesPerSec),
		row("frames sent/s", a.FramesSentPerSec, b.FramesSentPerSec),
	}
	if a.LatencyMs != nil && b.LatencyMs != nil {
		out = append(out, row("latency p50 ms", a.LatencyMs.P50, b.LatencyMs.P50),
			row("latency p99 ms", a.LatencyMs.P99, b.LatencyMs.P99))
	}
	if a.Server != nil && b.Server != nil && a.Server.CPUPercent != nil && b.Server.CPUPercent != nil {
		out = append(out, row("server CPU %", *a.Server.CPUPercent, *b.Server.CPUPercent))
	}
	if a.Server != nil && b.Server != nil && a.Server.RSSHold > 0 && b.Server.RSSHold > 0 {
		out = append(out, row("server RSS MiB", float64(a.Server.RSSHold)/(1<<20), float64(b.Server.RSSHold)/(1<<20)))
	}
	return out
}

// WriteJSON writes rep to path, as --json asks.
func WriteJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write --json: %w", err)
	}
	return nil
}

// PrintSummary writes the aligned summary of every run.
func PrintSummary(w io.Writer, rep *Report) {
	for _, r := range rep.Runs {
		printRun(w, r)
	}
	if len(rep.Ratios) > 0 {
		fmt.Fprintf(w, "\n== baseline compared with readtag (same parameters) ==\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "metric\treadtag\tbaseline\tbaseline ÷ readtag\t\n")
		for _, x := range rep.Ratios {
			ratio := "n/a"
			if x.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f×", x.Ratio)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", x.Metric, num(x.Readtag), num(x.Baseline), ratio)
		}
		_ = tw.Flush()
	}
}

func printRun(w io.Writer, r *Result) {
	head := fmt.Sprintf("%s · %s · %d readers", r.Scenario, r.Label, r.Readers)
	switch {
	case r.Sites > 0:
		head += fmt.Sprintf(" over %d embedded pages of %d sites", r.PostN, r.Sites)
		if r.Scenario == "hot" {
			head += fmt.Sprintf(" at %g Hz", r.Rate)
		}
	case r.Scenario == "hot":
		head += fmt.Sprintf(" on %s at %g Hz", strings.Join(r.Posts, ","), r.Rate)
	case r.Scenario == "idle", r.Scenario == "storm":
		head += fmt.Sprintf(" over %d posts", r.PostN)
	case r.Scenario == "churn":
		head = fmt.Sprintf("churn · %s · %d connections at %g/s", r.Label, r.Readers, r.Rate)
	}
	fmt.Fprintf(w, "\n== %s · %d process(es) · %.1fs measured ==\n", head, r.Procs, r.WindowSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("targets", "%s", strings.Join(r.Targets, " "))
	row("readers", "%d planned, %d welcomed (%.1f %%), %d failed, %d open at the end, %d lost",
		r.Readers, r.Welcomed, 100*float64(r.Welcomed)/float64(max(1, r.Readers)), r.Failed, r.OpenAtEnd, r.Lost)
	if s := r.JoinMs; s != nil {
		row("join time (dial→welcome)", "p50 %s  p95 %s  p99 %s  max %s", ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max))
	}
	for _, p := range []struct {
		name string
		s    *Summary
	}{{"  TCP connect (dial→established)", r.ConnectMs}, {"  upgrade (established→101)", r.UpgradeMs},
		{"  handshake (dial→101)", r.HandshakeMs}, {"  welcome (101→welcome)", r.WelcomeMs}} {
		if s := p.s; s != nil && r.Scenario == "storm" {
			row(p.name, "p50 %s  p95 %s  p99 %s  max %s", ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max))
		}
	}
	if s := r.LatencyMs; s != nil {
		row("scroll→ghost latency", "p50 %s  p95 %s  p99 %s  max %s  (%s samples)", ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), num(float64(s.Count)))
	} else if r.Scenario == "hot" {
		row("scroll→ghost latency", "no samples")
	}
	for _, x := range []struct {
		k string
		s *Summary
	}{{"  same node", r.LatencySameMs}, {"  cross node", r.LatencyCrossMs}} {
		if s := x.s; s != nil {
			row(x.k, "p50 %s  p95 %s  p99 %s  max %s  (%s samples)", ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), num(float64(s.Count)))
		}
	}
	row("updates received/s", "%s", num(r.UpdatesPerSec))
	if r.FramesPerClientPerSec > 0 {
		row("frames received/s", "%s  (%s per client)", num(r.FramesRecvPerSec), num(r.FramesPerClientPerSec))
		row("bytes received/s", "%s  (%s per client)", bytesHuman(r.BytesRecvPerSec), bytesHuman(r.BytesPerClientPerSec))
	} else {
		row("frames received/s", "%s", num(r.FramesRecvPerSec))
		row("bytes received/s", "%s", bytesHuman(r.BytesRecvPerSec))
	}
	row("frames sent/s", "%s", num(r.FramesSentPerSec))
	t := &r.Stats.Total
	row("frames by type (all)", "welcome %d  join %d  leave %d  moves %d  crowd %d  error %d  other %d",
		t.Welcomes, t.Joins, t.Leaves, t.Moves, t.Crowds, t.Errors, t.Unknown)
	if t.MaxCrowdBytes > 0 {
		row("largest crowd frame", "%s", bytesHuman(float64(t.MaxCrowdBytes)))
	}
	row("errors", "%d", r.Errors)
	for _, m := range []struct {
		name string
		m    map[string]int64
	}{{"  dial failures", r.DialErrors}, {"  unexpected closes", r.Closes}, {"  error frames", r.ErrorFrames}} {
		for _, k := range sortedKeys(m.m) {
			row(m.name, "%d × %s", m.m[k], k)
		}
	}
	if r.Stats.Total.Invalid > 0 || r.Stats.Total.OwnMoves > 0 || r.Stats.Total.Unknown > 0 {
		row("  odd frames", "%d unparsable, %d own moves echoed, %d of unknown type (ignored)",
			r.Stats.Total.Invalid, r.Stats.Total.OwnMoves, r.Stats.Total.Unknown)
	}
	if v := r.Views; v != nil {
		verdict := "AGREE"
		if !v.Agree {
			verdict = "DISAGREE"
		}
		row("views", "%s: %d readers checked, %d mismatches, %d not welcomed, after %s",
			verdict, v.Checked, v.Mismatches, v.Pending, ms(v.SettledAfterMs))
		if v.CrowdPosts > 0 {
			row("", "%d post(s) in crowd mode: views checked against the room's size, not id by id", v.CrowdPosts)
		}
		for _, e := range v.Examples {
			row("", "%s", e)
		}
	}
	if s := r.Server; s != nil {
		if s.RSSHold > 0 || s.RSSBefore > 0 {
			row("server RSS", "%s before, %s during, %s after", bytesHuman(float64(s.RSSBefore)), bytesHuman(float64(s.RSSHold)), bytesHuman(float64(s.RSSAfter)))
		}
		switch {
		case s.MemPerReader > 0:
			row("server memory/reader", "%s  (RSS growth ÷ open readers)", bytesHuman(s.MemPerReader))
		case s.RSSHold > 0 && r.OpenAtEnd > 0:
			row("server memory/reader", "n/a: RSS did not grow (the server kept memory from an earlier run; use a fresh server)")
		}
		if s.CPUPercent != nil {
			row("server CPU", "%.0f %% of one core (%d cores)", *s.CPUPercent, runtime.NumCPU())
		}
		if s.Threads > 0 {
			row("server threads", "%d before, %d during, %d after", s.ThreadsBefore, s.Threads, s.ThreadsAfter)
		}
		if s.GoroutinesBefore != nil || s.GoroutinesHold != nil || s.GoroutinesAfter != nil {
			row("server goroutines", "%s before, %s during, %s after", optNum(s.GoroutinesBefore), optNum(s.GoroutinesHold), optNum(s.GoroutinesAfter))
		}
		if s.ReadersHold != nil || s.ReadersAfter != nil {
			row("readtag_readers", "%s during, %s after", optNum(s.ReadersHold), optNum(s.ReadersAfter))
		}
		if s.MetricsError != "" {
			row("metrics", "unavailable: %s", s.MetricsError)
		}
	}
	if r.LoadgenCPUPercent > 0 {
		row("load generator CPU", "%.0f %% of one core", r.LoadgenCPUPercent)
	}
	if r.Error != "" {
		row("stopped early", "%s", r.Error)
	}
	_ = tw.Flush()
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	return keys
}

func ms(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 1000:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.2f s", v/1000)
}

func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 100 || v == float64(int64(v)):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func optNum(v *float64) string {
	if v == nil {
		return "?"
	}
	return num(*v)
}

func bytesHuman(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := ""
	switch {
	case v >= 1<<30:
		s = fmt.Sprintf("%.2f GiB", v/(1<<30))
	case v >= 1<<20:
		s = fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		s = fmt.Sprintf("%.1f KiB", v/(1<<10))
	default:
		s = fmt.Sprintf("%.0f B", v)
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Progress prints the live status line: in place once a second on a
// terminal, else a plain line every 5 s (for logs). A nil Progress prints
// nothing.
type Progress struct {
	w      io.Writer
	tty    bool
	label  string
	n      int
	t0     time.Time
	last   time.Time
	prev   Stats
	prevAt time.Time
	every  time.Duration
	lines  int
}

// NewProgress reports on the n readers of the run label to w.
func NewProgress(w io.Writer, label string, n int) *Progress {
	p := &Progress{w: w, label: label, n: n, t0: time.Now(), every: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.every = true, time.Second
		}
	}
	p.last, p.prevAt = p.t0, p.t0
	return p
}

// Due reports whether the next line is due.
func (p *Progress) Due() bool { return p != nil && time.Since(p.last) >= p.every }

// Print writes a line for st.
func (p *Progress) Print(st Stats) {
	now := time.Now()
	dt := now.Sub(p.prevAt).Seconds()
	rate := func(a, b int64) float64 {
		if dt <= 0 {
			return 0
		}
		return float64(a-b) / dt
	}
	p99 := "-"
	if st.Window.Latency.Count() > 0 {
		p99 = ms(st.Window.Latency.Quantile(0.99))
	} else if st.Total.Latency.Count() > 0 {
		p99 = ms(st.Total.Latency.Quantile(0.99))
	}
	line := fmt.Sprintf("[%5.0fs] %s: connected %d/%d  frames/s %s  updates/s %s  sent/s %s  p99 %s  errors %d",
		now.Sub(p.t0).Seconds(), p.label, st.Open, p.n,
		num(rate(st.Total.FramesRecv, p.prev.Total.FramesRecv)), num(rate(st.Total.Updates, p.prev.Total.Updates)),
		num(rate(st.Total.FramesSent, p.prev.Total.FramesSent)), p99, st.ErrorCount())
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.lines++
	p.last, p.prev, p.prevAt = now, st, now
}

// End finishes the in-place line.
func (p *Progress) End() {
	if p != nil && p.tty && p.lines > 0 {
		fmt.Fprintln(p.w)
		p.lines = 0
	}
}
