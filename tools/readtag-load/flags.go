package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// usageError is a bad command line: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// scenarios the tool runs, with what each is for (for --help).
var scenarios = []struct{ name, help string }{
	{"hot", "N readers on one post, each scrolling at R Hz: scroll-to-ghost latency and traffic"},
	{"idle", "N readers spread over M posts holding still: connect success, server memory per reader"},
	{"storm", "N readers joining one post (or M posts) within the ramp: join times by phase, and whether every view agrees"},
	{"churn", "C connects and C disconnects a second: errors, and server goroutines/memory before and after"},
	{"index", "W index visitors on /ws/index while N readers sit on posts: count frames, their size and delay"},
	{"baseline-server", "run only the naive baseline server (see --baseline) until interrupted"},
	{"bare-server", "run only the bare Fiber+contrib/websocket server (welcome, pings, nothing else) until interrupted"},
	{"mem-sweep", "idle at each of --counts readers, each against a fresh server (--server-cmd): memory per reader"},
}

// options is the parsed command line.
type options struct {
	scenario     string
	readers      int
	post         string
	posts        []string
	postsCount   int
	rate         float64
	duration     time.Duration
	ramp         time.Duration
	life         time.Duration
	targets      []string
	jsonPath     string
	procs        int
	sourceIPs    []string
	pid          int
	metrics      string
	cpuProfile   string
	allowRem     bool
	baseline     bool
	compare      bool
	addr         string
	makePosts    string
	count        int
	watchers     int
	buffers      string        // bare-server, mem-sweep with --server-cmd bare
	sharedPinger bool          // likewise
	reduceMem    bool          // likewise
	relayTick    time.Duration // bare-server: relay positions (relay.go); 0: do not
	serverCmd    string        // mem-sweep
	counts       []int         // mem-sweep
	label        string        // mem-sweep
	// Hidden: the process is a worker, or a baseline child that stops when
	// its stdin closes.
	worker    bool
	exitOnEOF bool
	args      []string // the command line, for the report
	pidNote   string   // set when --pid was resolved to another process
}

// scenario defaults that differ between scenarios; a flag given on the
// command line always wins.
var (
	defaultRate     = map[string]float64{"hot": 5, "churn": 50, "index": 20}
	defaultDuration = map[string]time.Duration{"hot": 30 * time.Second, "idle": 30 * time.Second,
		"storm": 30 * time.Second, "churn": 60 * time.Second, "index": 30 * time.Second, "mem-sweep": 10 * time.Second}
)

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{args: args}
	fs := flag.NewFlagSet("readtag-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.readers, "readers", 1000, "`N` readers (connections) to open (hot, idle, storm)")
	fs.StringVar(&o.post, "post", "how-readtag-works", "`slug` of the post for hot, storm and churn")
	postsList := fs.String("posts", "", "comma-separated `slugs` to spread idle or storm readers over (idle default: the\nposts the server's index lists, up to --posts-count; storm default: --post)")
	fs.IntVar(&o.postsCount, "posts-count", 0, "`M` posts to spread idle or storm readers over (idle, 0: all the server lists;\nstorm, 0: --post alone). A server with M posts: readtag-load --make-posts DIR --count M, then readtag --posts DIR")
	fs.Float64Var(&o.rate, "rate", 0, "hot: scrolls per second per reader, at most 20 (default 5);\nchurn: connects (and disconnects) per second (default 50);\nindex: readers leaving and rejoining another post per second (default 20)")
	fs.DurationVar(&o.duration, "duration", 0, "how long to measure once every reader has joined (hot, idle: default 30s);\nstorm: how long views may take to agree (default 30s); churn: run time (default 60s);\nmem-sweep: each step's window once RSS has settled (default 10s)")
	fs.DurationVar(&o.ramp, "ramp", 5*time.Second, "spread the connects over this `time` (0: all at once)")
	fs.DurationVar(&o.life, "life", time.Second, "churn: how long each connection stays after its welcome")
	targets := fs.String("targets", "http://127.0.0.1:8080", "comma-separated server `URLs`; readers go round-robin over them")
	fs.StringVar(&o.jsonPath, "json", "", "write the full results as JSON to this `file`")
	fs.IntVar(&o.procs, "procs", 0, "worker `processes` (0: enough that none holds more than 15,000 connections)")
	sources := fs.String("source-ips", "", "comma-separated local `addresses` (127.0.0.1,127.0.0.2,...) to bind connections\nto, round-robin; needed past ~28k connections to one server (ephemeral ports)")
	fs.IntVar(&o.pid, "pid", 0, "server process `id` to sample: RSS, threads and CPU % from /proc")
	fs.StringVar(&o.metrics, "metrics", "", "server Prometheus `URL` (http://127.0.0.1:8080/metrics) for go_goroutines,\nprocess_resident_memory_bytes and readtag_readers, where present")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of this process for the whole run to `FILE` (go tool pprof);\nits readers run in this process unless there are several worker processes\n(--procs), and then worker N writes its own profile to FILE.N (with --compare, the\nsecond run's)")
	fs.BoolVar(&o.allowRem, "allow-remote", false, "allow targets that are not loopback addresses")
	fs.BoolVar(&o.baseline, "baseline", false, "hot: run against the naive baseline server (started as a child process)\ninstead of --targets")
	fs.BoolVar(&o.compare, "compare", false, "hot: run against --targets, then against the baseline, and print both with ratios")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "baseline-server: `host:port` to listen on")
	fs.StringVar(&o.makePosts, "make-posts", "", "write --count small posts into `DIR` and exit (no scenario)")
	fs.IntVar(&o.count, "count", 100, "with --make-posts: how many posts")
	fs.IntVar(&o.watchers, "watchers", 1000, "index: `W` index visitors (connections to /ws/index)")
	fs.StringVar(&o.buffers, "buffers", "default", "bare-server (and mem-sweep --server-cmd bare): WebSocket `buffers`: default (contrib's,\n1 KiB read and write, both held), readtag (1 KiB, pooled write) or trimmed (256 B read, pooled write)")
	fs.StringVar(&o.serverCmd, "server-cmd", "", "mem-sweep: the server's `command` line, {addr} where its listen address goes\n(\"readtag --addr {addr} --posts /tmp/posts\"; no shell), or bare for bare-server")
	fs.BoolVar(&o.sharedPinger, "shared-pinger", false, "bare-server (and mem-sweep --server-cmd bare): one goroutine pings every socket\n(one goroutine per reader) instead of a pinger per socket (two, as readtag)")
	fs.BoolVar(&o.reduceMem, "reduce-memory", false, "bare-server (and mem-sweep --server-cmd bare): Fiber's ReduceMemoryUsage, which frees\nthe 4 KiB HTTP read buffer before the upgrade instead of keeping it for the socket's life")
	fs.DurationVar(&o.relayTick, "relay-tick", 0, "bare-server: also relay positions as the floor of a hot post (every reader gets, each\n`tick`, the latest positions of the 24 readers after it that moved; 100ms as readtag's\nbig crowds); 0 relays nothing")
	counts := fs.String("counts", "1000,5000,10000,15000", "mem-sweep: comma-separated reader `counts`, one fresh server each")
	fs.StringVar(&o.label, "label", "", "mem-sweep: the series' `name` in its JSON and chart (default: from --server-cmd)")
	fs.BoolVar(&o.worker, "worker", false, "")
	fs.BoolVar(&o.exitOnEOF, "exit-on-eof", false, "")
	fs.Usage = func() { usage(fs) }

	// The scenario may come before, between or after the flags.
	rest := args
	var positional []string
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if o.worker {
		return o, nil
	}
	if len(positional) > 1 {
		return nil, usagef("one scenario at a time, got %q", positional)
	}
	if o.makePosts != "" {
		if len(positional) > 0 {
			return nil, usagef("--make-posts writes posts and exits: leave out the scenario %q", positional[0])
		}
		if o.count < 1 || o.count > 100000 {
			return nil, usagef("--count %d: want 1 to 100000", o.count)
		}
		return o, nil
	}
	if len(positional) == 0 {
		return nil, usagef("no scenario: want one of %s", scenarioNames())
	}
	o.scenario = positional[0]
	known := false
	for _, s := range scenarios {
		known = known || s.name == o.scenario
	}
	if !known {
		return nil, usagef("unknown scenario %q: want one of %s", o.scenario, scenarioNames())
	}
	if o.scenario == "baseline-server" || o.scenario == "bare-server" {
		if _, _, err := net.SplitHostPort(o.addr); err != nil {
			return nil, usagef("--addr %q: want host:port", o.addr)
		}
		if _, ok := bareBufferSets[o.buffers]; !ok {
			return nil, usagef("--buffers %q: want %s", o.buffers, bufferSetNames())
		}
		if o.relayTick < 0 || o.relayTick > 0 && (o.relayTick < relayTurn || o.relayTick > time.Minute) {
			return nil, usagef("--relay-tick %v: want 0 (off) or %v to 1m", o.relayTick, relayTurn)
		}
		return o, nil
	}

	if !set["rate"] {
		o.rate = defaultRate[o.scenario]
	}
	if !set["duration"] {
		o.duration = defaultDuration[o.scenario]
	}
	if err := o.validate(set, *targets, *sources, *postsList); err != nil {
		return nil, err
	}
	if o.scenario == "mem-sweep" {
		if err := o.validateSweep(set, *counts); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *options) validate(set map[string]bool, targets, sources, postsList string) error {
	if o.readers < 1 || o.readers > 1_000_000 {
		return usagef("--readers %d: want 1 to 1000000", o.readers)
	}
	switch o.scenario {
	case "hot":
		if !(o.rate > 0 && o.rate <= 20) {
			return usagef("--rate %g: hot wants 0 < rate ≤ 20 scrolls per second (the protocol allows one per 50 ms)", o.rate)
		}
	case "churn":
		if !(o.rate > 0 && o.rate <= 20000) {
			return usagef("--rate %g: churn wants 0 < rate ≤ 20000 connects per second", o.rate)
		}
		if o.life <= 0 || o.life > time.Hour {
			return usagef("--life %v: want more than 0 and at most 1h", o.life)
		}
	case "index":
		if !(o.rate >= 0 && o.rate <= 1000) {
			return usagef("--rate %g: index wants 0 to 1000 readers leaving and rejoining per second", o.rate)
		}
		if o.watchers < 1 || o.watchers+o.readers > 15000 {
			return usagef("--watchers %d with --readers %d: want at least one watcher and at most 15000 connections in all (one process)", o.watchers, o.readers)
		}
	default:
		if set["rate"] {
			return usagef("--rate is for hot and churn, not %s", o.scenario)
		}
	}
	if o.duration <= 0 || o.duration > 24*time.Hour {
		return usagef("--duration %v: want more than 0 and at most 24h", o.duration)
	}
	if o.ramp < 0 || o.ramp > time.Hour {
		return usagef("--ramp %v: want 0 to 1h", o.ramp)
	}
	if (o.baseline || o.compare) && o.scenario != "hot" {
		return usagef("--baseline and --compare are for the hot scenario")
	}
	if !slugPattern.MatchString(o.post) {
		return usagef("--post %q is not a slug (lowercase letters, digits and single dashes)", o.post)
	}
	for _, s := range splitList(postsList) {
		if !slugPattern.MatchString(s) {
			return usagef("--posts: %q is not a slug", s)
		}
		if slices.Contains(o.posts, s) {
			return usagef("--posts: %q given twice", s)
		}
		o.posts = append(o.posts, s)
	}
	if len(o.posts) > 0 && o.scenario != "idle" && o.scenario != "storm" {
		return usagef("--posts is for idle and storm; use --post for %s", o.scenario)
	}
	if o.postsCount < 0 || o.postsCount > 100000 {
		return usagef("--posts-count %d: want 0 to 100000", o.postsCount)
	}
	if set["posts-count"] && (o.scenario == "hot" || o.scenario == "churn" || o.scenario == "index") {
		return usagef("--posts-count is for idle and storm; use --post for %s", o.scenario)
	}
	if len(o.posts) > 0 && set["posts-count"] {
		return usagef("give --posts or --posts-count, not both")
	}
	if len(o.posts) > 0 && set["post"] {
		return usagef("give --post or --posts, not both")
	}
	for _, t := range splitList(targets) {
		base, err := checkURL(t, o.allowRem)
		if err != nil {
			return usagef("--targets: %v", err)
		}
		o.targets = append(o.targets, base)
	}
	if len(o.targets) == 0 && !o.baseline {
		return usagef("--targets: give at least one server URL")
	}
	for _, s := range splitList(sources) {
		ip := net.ParseIP(s)
		if ip == nil {
			return usagef("--source-ips: %q is not an IP address", s)
		}
		if !ip.IsLoopback() && !o.allowRem {
			return usagef("--source-ips: %s is not a loopback address (pass --allow-remote to use it)", s)
		}
		o.sourceIPs = append(o.sourceIPs, ip.String())
	}
	if o.procs < 0 || o.procs > 64 {
		return usagef("--procs %d: want 0 (automatic) to 64", o.procs)
	}
	if o.pid < 0 {
		return usagef("--pid %d: want a process id", o.pid)
	}
	if o.pid > 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", o.pid)); err != nil {
			return usagef("--pid %d: no such process to sample (%v)", o.pid, err)
		}
		if child, ok := resolvePID(o.pid); ok {
			o.pidNote = fmt.Sprintf("--pid %d is `go run`; sampling its child, the server, pid %d", o.pid, child)
			o.pid = child
		}
	}
	if o.metrics != "" {
		u, err := url.Parse(o.metrics)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--metrics %q: want an http URL like http://127.0.0.1:8080/metrics", o.metrics)
		}
		if !o.allowRem && !isLoopbackHost(u.Hostname()) {
			return usagef("--metrics %q: not a loopback address (pass --allow-remote)", o.metrics)
		}
	}
	return nil
}

// checkURL accepts http(s)://host:port (ws:// is taken as http://) and
// refuses non-loopback hosts unless allowed: this tool is for servers on
// this machine.
func checkURL(s string, allowRemote bool) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q: %v", s, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("%q: want http://host:port", s)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", fmt.Errorf("%q: want just http://host:port", s)
	}
	if !allowRemote && !isLoopbackHost(u.Hostname()) {
		return "", fmt.Errorf("%q is not a loopback address; this tool loads servers on this machine (pass --allow-remote to override)", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func scenarioNames() string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: readtag-load SCENARIO [flags]\n       readtag-load --make-posts DIR --count M\n"+
		"       readtag-load chart --out FILE.png RESULT.json [RESULT.json ...]\n\n"+
		"Load generator for readtag's WebSocket protocol v1 (docs/protocol.md).\n\nScenarios:\n")
	for _, s := range scenarios {
		fmt.Fprintf(w, "  %-16s %s\n", s.name, s.help)
	}
	fmt.Fprintf(w, "\nSubcommands:\n  %-16s %s\n", "chart", "draw the scroll-to-ghost latency of --json results as a PNG (chart --help)")
	fmt.Fprintf(w, "\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage == "" { // hidden
			return
		}
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "\n    \t%s", strings.ReplaceAll(help, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintf(w, "\nExamples:\n"+
		"  readtag-load hot --readers 1000 --rate 5 --duration 30s --pid $(pgrep -n readtag)\n"+
		"  readtag-load hot --readers 200 --compare\n"+
		"  readtag-load storm --readers 10000 --ramp 10s\n"+
		"  readtag-load --make-posts /tmp/posts --count 100 && readtag --posts /tmp/posts &\n"+
		"  readtag-load idle --readers 10000 --posts-count 100\n"+
		"  readtag-load churn --rate 200 --life 1s --duration 60s --metrics http://127.0.0.1:8080/metrics\n"+
		"  readtag-load chart --out docs/latency.png hot.json\n"+
		"  readtag-load mem-sweep --server-cmd 'readtag --addr {addr} --posts /tmp/posts' --posts-count 1000 --json rt.json\n"+
		"  readtag-load mem-sweep --server-cmd bare --buffers trimmed --json bare.json\n"+
		"  readtag-load chart --out docs/memory.png rt.json bare.json\n")
}
