package scenario

import (
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

// newReport is the report of a run of o, without its results yet.
func newReport(o *Options) *stats.Report {
	p := stats.Params{Readers: o.Readers, Duration: o.Duration.String(), Ramp: o.Ramp.String(), Targets: o.Targets,
		Procs: o.Procs, SourceIPs: o.SourceIPs, PID: o.PID, Metrics: o.Metrics, Baseline: o.Baseline, Compare: o.Compare}
	switch o.Scenario {
	case "hot":
		p.Post, p.Rate = o.Post, o.Rate
	case "idle":
		p.Posts, p.PostsCount = o.Posts, o.PostsCount
	case "storm":
		p.Post, p.Posts, p.PostsCount = o.Post, o.Posts, o.PostsCount
	case "churn":
		p.Post, p.Rate, p.Life = o.Post, o.Rate, o.Life.String()
	}
	if o.EmbedSites > 0 {
		p.Post, p.Posts, p.PostsCount = "", nil, 0
		p.EmbedSites, p.EmbedPages, p.EmbedOrigin = o.EmbedSites, o.EmbedPages, o.EmbedOrigin
	}
	return &stats.Report{
		Tool:     "readtag-load",
		Machine:  machine(),
		Command:  commandLine(o.Args),
		Args:     o.Args,
		Start:    time.Now(),
		Scenario: o.Scenario,
		Params:   p,
	}
}

// machine describes this one.
func machine() stats.Machine {
	host, _ := os.Hostname()
	lim, _ := wsclient.RaiseFileLimit()
	return stats.Machine{NumCPU: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Hostname: host,
		GoVersion: runtime.Version(), OpenFileLimit: lim}
}

// commandLine is the command as one could paste it into a shell.
func commandLine(args []string) string {
	parts := []string{"readtag-load"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$`\\*?;&|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
