package scenario

import "time"

// Options is a run as the command line asks for it, checked and with each
// scenario's defaults filled in by package main.
type Options struct {
	// Scenario is hot, idle, storm, churn, index or mem-sweep.
	Scenario string
	// Readers is how many readers (connections) to open.
	Readers int
	// Post is the slug of the post of hot, storm and churn.
	Post string
	// Posts are the slugs idle or storm readers are spread over; PostsCount
	// takes that many from the server's index instead (0: all of them for
	// idle, Post alone for storm).
	Posts      []string
	PostsCount int
	// Zipf, if above 0, makes hot's readers read Posts (or PostsCount posts)
	// with Zipf-like popularity of this exponent, placed on Targets by
	// Place (PlaceRandom or PlacePost) instead of round-robin.
	Zipf  float64
	Place string
	// EmbedSites and EmbedPages, when set, make hot and storm readers join
	// EmbedPages embedded pages spread over EmbedSites sites
	// (protocol.EmbedPages, over /ws/embed) instead of posts. EmbedOrigin
	// is the sites' origin, {i} where a site's number goes.
	EmbedSites  int
	EmbedPages  int
	EmbedOrigin string
	// Rate is scrolls per second per reader (hot), connects per second
	// (churn) or readers leaving and rejoining per second (index).
	Rate float64
	// Duration is how long to measure once every reader has joined (storm:
	// how long views may take to agree; churn: the run time).
	Duration time.Duration
	// Ramp spreads the connects over this time (0: all at once).
	Ramp time.Duration
	// Life is how long each churn connection stays after its welcome.
	Life time.Duration
	// Targets are the servers' base URLs (http://host:port); readers go
	// round-robin over them.
	Targets []string
	// JSONPath, if set, is where the full results are written as JSON.
	JSONPath string
	// Procs is how many worker processes run the readers (0: enough that
	// none holds more than maxConnsPerProc).
	Procs int
	// SourceIPs are local addresses connections are bound to, round-robin.
	SourceIPs []string
	// PID is the server process to sample (0: none).
	PID int
	// Metrics is the server's Prometheus URL to sample ("": none).
	Metrics string
	// CPUProfile, if set, is where each worker process writes its CPU
	// profile (as CPUProfile.N) when there are several.
	CPUProfile string
	// Baseline runs hot against the naive baseline server instead of
	// Targets; Compare runs it against both.
	Baseline bool
	Compare  bool
	// Watchers is how many index visitors the index scenario opens.
	Watchers int
	// ServerCmd is mem-sweep's server command line, {addr} where its listen
	// address goes, or "bare" for this tool's bare server with Buffers,
	// SharedPinger and ReduceMemory.
	ServerCmd    string
	Buffers      string
	SharedPinger bool
	ReduceMemory bool
	// Counts are mem-sweep's reader counts, a fresh server each.
	Counts []int
	// Label names mem-sweep's series in its JSON and chart.
	Label string
	// Args is the command line, for the report.
	Args []string
}
