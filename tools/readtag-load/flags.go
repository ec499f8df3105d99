package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/cli"
	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
	"github.com/readtag/readtag/tools/readtag-load/internal/scenario"
	"github.com/readtag/readtag/tools/readtag-load/internal/servers"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

// scenarios the tool runs, with what each is for (for --help).
var scenarios = []struct{ name, help string }{
	{"hot", "N readers on one post (or over embedded pages), each scrolling at R Hz: scroll-to-ghost latency\n" +
		strings.Repeat(" ", 19) + "and traffic"},
	{"idle", "N readers spread over M posts holding still: connect success, server memory per reader"},
	{"storm", "N readers joining one post (or M posts, or M embedded pages of N sites) within the ramp: join times by phase,\n" +
		strings.Repeat(" ", 19) + "and whether every view agrees"},
	{"churn", "C connects and C disconnects a second: errors, and server goroutines/memory before and after"},
	{"index", "W index visitors on /ws/index while N readers sit on posts: count frames, their size and delay"},
	{"baseline-server", "run only the naive baseline server (see --baseline) until interrupted"},
	{"bare-server", "run only the bare Fiber+contrib/websocket server (welcome, pings, nothing else) until interrupted"},
	{"mem-sweep", "idle at each of --counts readers, each against a fresh server (--server-cmd): memory per reader"},
}

// options is the parsed command line: a scenario's, and what only main
// acts on.
type options struct {
	scenario.Options
	allowRem  bool
	addr      string        // baseline-server, bare-server
	makePosts string        // --make-posts DIR
	count     int           // with --make-posts
	relayTick time.Duration // bare-server: relay positions (servers/relay.go); 0: do not
	// Hidden: the process is a worker, or a baseline child that stops when
	// its stdin closes.
	worker    bool
	exitOnEOF bool
	pidNote   string // set when --pid was resolved to another process
}

// scenario defaults that differ between scenarios; a flag given on the
// command line always wins.
var (
	defaultRate     = map[string]float64{"hot": 5, "churn": 50, "index": 20}
	defaultDuration = map[string]time.Duration{"hot": 30 * time.Second, "idle": 30 * time.Second,
		"storm": 30 * time.Second, "churn": 60 * time.Second, "index": 30 * time.Second, "mem-sweep": 10 * time.Second}
)

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{Options: scenario.Options{Args: args}}
	fs := flag.NewFlagSet("readtag-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Readers, "readers", 1000, "`N` readers (connections) to open (hot, idle, storm)")
	fs.StringVar(&o.Post, "post", "how-readtag-works", "`slug` of the post for hot, storm and churn")
	postsList := fs.String("posts", "", "comma-separated `slugs` to spread idle or storm readers over (idle default: the\nposts the server's index lists, up to --posts-count; storm default: --post)")
	fs.IntVar(&o.PostsCount, "posts-count", 0, "`M` posts to spread idle or storm readers over (idle, 0: all the server lists;\nstorm, 0: --post alone). A server with M posts: readtag-load --make-posts DIR --count M, then readtag --posts DIR")
	fs.IntVar(&o.EmbedSites, "embed-sites", 0, "hot, storm: readers join embedded pages of `N` sites (/ws/embed, with the site's Origin)\n"+
		"instead of posts; start readtag with those sites (--sites http://site0.test,...,\n"+
		"the origins of --embed-origin for 0 to N-1)")
	fs.IntVar(&o.EmbedPages, "embed-pages", 0, "with --embed-sites: `M` embedded pages in all, page k on site k mod N at /notes/load-NNNN\n"+
		"with NNNN = k / N, readers round-robin over them (0: one page a site); the readers of a\n"+
		"page spell its URL six ways (as it is, trailing slash, query and fragment, upper case,\n"+
		"default port, percent-encoded) that the server must fold into one room")
	fs.Float64Var(&o.Zipf, "zipf", 0, "hot: readers over --posts-count M posts (or --posts) with Zipf-like popularity of exponent `S`\n"+
		"(the post of rank k, load-0001 first, gets a share ∝ 1/k^S, every post at least one reader),\n"+
		"placed on --targets by --place; 0: every reader on --post, round-robin over the targets")
	fs.StringVar(&o.Place, "place", "", "with --zipf: how readers are placed on --targets: random (a round-robin load balancer)\n"+
		"or post (every reader of a post on one target, by a hash of its path) (default random)")
	fs.StringVar(&o.EmbedOrigin, "embed-origin", protocol.DefaultSiteOrigin, "with --embed-sites: the sites' `origin`, {i} where a site's number goes")
	fs.Float64Var(&o.Rate, "rate", 0, "hot: scrolls per second per reader, at most 20 (default 5);\nchurn: connects (and disconnects) per second (default 50);\nindex: readers leaving and rejoining another post per second (default 20)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to measure once every reader has joined (hot, idle: default 30s);\nstorm: how long views may take to agree (default 30s); churn: run time (default 60s);\nmem-sweep: each step's window once RSS has settled (default 10s)")
	fs.DurationVar(&o.Ramp, "ramp", 5*time.Second, "spread the connects over this `time` (0: all at once)")
	fs.DurationVar(&o.Life, "life", time.Second, "churn: how long each connection stays after its welcome")
	targets := fs.String("targets", "http://127.0.0.1:8080", "comma-separated server `URLs`; readers go round-robin over them")
	fs.StringVar(&o.JSONPath, "json", "", "write the full results as JSON to this `file`")
	fs.IntVar(&o.Procs, "procs", 0, "worker `processes` (0: enough that none holds more than 15,000 connections)")
	sources := fs.String("source-ips", "", "comma-separated local `addresses` (127.0.0.1,127.0.0.2,...) to bind connections\nto, round-robin; needed past ~28k connections to one server (ephemeral ports)")
	fs.IntVar(&o.PID, "pid", 0, "server process `id` to sample: RSS, threads and CPU % from /proc")
	fs.StringVar(&o.Metrics, "metrics", "", "server Prometheus `URL` (http://127.0.0.1:8080/metrics) for go_goroutines,\nprocess_resident_memory_bytes and readtag_readers, where present")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a Go CPU profile of this process for the whole run to `FILE` (go tool pprof);\nits readers run in this process unless there are several worker processes\n(--procs), and then worker N writes its own profile to FILE.N (with --compare, the\nsecond run's)")
	fs.BoolVar(&o.allowRem, "allow-remote", false, "allow targets that are not loopback addresses")
	fs.BoolVar(&o.Baseline, "baseline", false, "hot: run against the naive baseline server (started as a child process)\ninstead of --targets")
	fs.BoolVar(&o.Compare, "compare", false, "hot: run against --targets, then against the baseline, and print both with ratios")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "baseline-server: `host:port` to listen on")
	fs.StringVar(&o.makePosts, "make-posts", "", "write --count small posts into `DIR` and exit (no scenario)")
	fs.IntVar(&o.count, "count", 100, "with --make-posts: how many posts")
	fs.IntVar(&o.Watchers, "watchers", 1000, "index: `W` index visitors (connections to /ws/index)")
	fs.StringVar(&o.Buffers, "buffers", "default", "bare-server (and mem-sweep --server-cmd bare): WebSocket `buffers`: default (contrib's,\n1 KiB read and write, both held), readtag (1 KiB, pooled write) or trimmed (256 B read, pooled write)")
	fs.StringVar(&o.ServerCmd, "server-cmd", "", "mem-sweep: the server's `command` line, {addr} where its listen address goes\n(\"readtag --addr {addr} --posts /tmp/posts\"; no shell), or bare for bare-server")
	fs.BoolVar(&o.SharedPinger, "shared-pinger", false, "bare-server (and mem-sweep --server-cmd bare): one goroutine pings every socket\n(one goroutine per reader) instead of a pinger per socket (two, as readtag)")
	fs.BoolVar(&o.ReduceMemory, "reduce-memory", false, "bare-server (and mem-sweep --server-cmd bare): Fiber's ReduceMemoryUsage, which frees\nthe 4 KiB HTTP read buffer before the upgrade instead of keeping it for the socket's life")
	fs.DurationVar(&o.relayTick, "relay-tick", 0, "bare-server: also relay positions as the floor of a hot post (every reader gets, each\n`tick`, the latest positions of the 24 readers after it that moved; 100ms as readtag's\nbig crowds); 0 relays nothing")
	counts := fs.String("counts", "1000,5000,10000,15000", "mem-sweep: comma-separated reader `counts`, one fresh server each")
	fs.StringVar(&o.Label, "label", "", "mem-sweep: the series' `name` in its JSON and chart (default: from --server-cmd)")
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
			return nil, &cli.UsageError{Err: err}
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
		return nil, cli.Usagef("one scenario at a time, got %q", positional)
	}
	if o.makePosts != "" {
		if len(positional) > 0 {
			return nil, cli.Usagef("--make-posts writes posts and exits: leave out the scenario %q", positional[0])
		}
		if o.count < 1 || o.count > 100000 {
			return nil, cli.Usagef("--count %d: want 1 to 100000", o.count)
		}
		return o, nil
	}
	if len(positional) == 0 {
		return nil, cli.Usagef("no scenario: want one of %s", scenarioNames())
	}
	o.Scenario = positional[0]
	known := false
	for _, s := range scenarios {
		known = known || s.name == o.Scenario
	}
	if !known {
		return nil, cli.Usagef("unknown scenario %q: want one of %s", o.Scenario, scenarioNames())
	}
	if o.Scenario == "baseline-server" || o.Scenario == "bare-server" {
		if _, _, err := net.SplitHostPort(o.addr); err != nil {
			return nil, cli.Usagef("--addr %q: want host:port", o.addr)
		}
		if !servers.HasBuffers(o.Buffers) {
			return nil, cli.Usagef("--buffers %q: want %s", o.Buffers, servers.BufferSetNames)
		}
		if o.relayTick < 0 || o.relayTick > 0 && (o.relayTick < servers.RelayTurn || o.relayTick > time.Minute) {
			return nil, cli.Usagef("--relay-tick %v: want 0 (off) or %v to 1m", o.relayTick, servers.RelayTurn)
		}
		return o, nil
	}

	if !set["rate"] {
		o.Rate = defaultRate[o.Scenario]
	}
	if !set["duration"] {
		o.Duration = defaultDuration[o.Scenario]
	}
	if err := o.validate(set, *targets, *sources, *postsList); err != nil {
		return nil, err
	}
	if o.Scenario == "mem-sweep" {
		if err := o.validateSweep(set, *counts); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *options) validate(set map[string]bool, targets, sources, postsList string) error {
	if o.Readers < 1 || o.Readers > 1_000_000 {
		return cli.Usagef("--readers %d: want 1 to 1000000", o.Readers)
	}
	switch o.Scenario {
	case "hot":
		if !(o.Rate > 0 && o.Rate <= 20) {
			return cli.Usagef("--rate %g: hot wants 0 < rate ≤ 20 scrolls per second (the protocol allows one per 50 ms)", o.Rate)
		}
	case "churn":
		if !(o.Rate > 0 && o.Rate <= 20000) {
			return cli.Usagef("--rate %g: churn wants 0 < rate ≤ 20000 connects per second", o.Rate)
		}
		if o.Life <= 0 || o.Life > time.Hour {
			return cli.Usagef("--life %v: want more than 0 and at most 1h", o.Life)
		}
	case "index":
		if !(o.Rate >= 0 && o.Rate <= 1000) {
			return cli.Usagef("--rate %g: index wants 0 to 1000 readers leaving and rejoining per second", o.Rate)
		}
		if o.Watchers < 1 || o.Watchers+o.Readers > 15000 {
			return cli.Usagef("--watchers %d with --readers %d: want at least one watcher and at most 15000 connections in all (one process)", o.Watchers, o.Readers)
		}
	default:
		if set["rate"] {
			return cli.Usagef("--rate is for hot and churn, not %s", o.Scenario)
		}
	}
	if o.Duration <= 0 || o.Duration > 24*time.Hour {
		return cli.Usagef("--duration %v: want more than 0 and at most 24h", o.Duration)
	}
	if o.Ramp < 0 || o.Ramp > time.Hour {
		return cli.Usagef("--ramp %v: want 0 to 1h", o.Ramp)
	}
	if (o.Baseline || o.Compare) && o.Scenario != "hot" {
		return cli.Usagef("--baseline and --compare are for the hot scenario")
	}
	if !protocol.SlugPattern.MatchString(o.Post) {
		return cli.Usagef("--post %q is not a slug (lowercase letters, digits and single dashes)", o.Post)
	}
	for _, s := range splitList(postsList) {
		if !protocol.SlugPattern.MatchString(s) {
			return cli.Usagef("--posts: %q is not a slug", s)
		}
		if slices.Contains(o.Posts, s) {
			return cli.Usagef("--posts: %q given twice", s)
		}
		o.Posts = append(o.Posts, s)
	}
	if err := o.validateZipf(set); err != nil {
		return err
	}
	if len(o.Posts) > 0 && o.Scenario != "idle" && o.Scenario != "storm" && o.Zipf == 0 {
		return cli.Usagef("--posts is for idle and storm; use --post for %s", o.Scenario)
	}
	if o.PostsCount < 0 || o.PostsCount > 100000 {
		return cli.Usagef("--posts-count %d: want 0 to 100000", o.PostsCount)
	}
	if set["posts-count"] && (o.Scenario == "hot" && o.Zipf == 0 || o.Scenario == "churn" || o.Scenario == "index") {
		return cli.Usagef("--posts-count is for idle and storm; use --post for %s", o.Scenario)
	}
	if len(o.Posts) > 0 && set["posts-count"] {
		return cli.Usagef("give --posts or --posts-count, not both")
	}
	if len(o.Posts) > 0 && set["post"] {
		return cli.Usagef("give --post or --posts, not both")
	}
	if err := o.validateEmbed(set); err != nil {
		return err
	}
	for _, t := range splitList(targets) {
		base, err := checkURL(t, o.allowRem)
		if err != nil {
			return cli.Usagef("--targets: %v", err)
		}
		o.Targets = append(o.Targets, base)
	}
	if len(o.Targets) == 0 && !o.Baseline {
		return cli.Usagef("--targets: give at least one server URL")
	}
	for _, s := range splitList(sources) {
		ip := net.ParseIP(s)
		if ip == nil {
			return cli.Usagef("--source-ips: %q is not an IP address", s)
		}
		if !ip.IsLoopback() && !o.allowRem {
			return cli.Usagef("--source-ips: %s is not a loopback address (pass --allow-remote to use it)", s)
		}
		o.SourceIPs = append(o.SourceIPs, ip.String())
	}
	if o.Procs < 0 || o.Procs > 64 {
		return cli.Usagef("--procs %d: want 0 (automatic) to 64", o.Procs)
	}
	if o.PID < 0 {
		return cli.Usagef("--pid %d: want a process id", o.PID)
	}
	if o.PID > 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", o.PID)); err != nil {
			return cli.Usagef("--pid %d: no such process to sample (%v)", o.PID, err)
		}
		if child, ok := stats.ResolvePID(o.PID); ok {
			o.pidNote = fmt.Sprintf("--pid %d is `go run`; sampling its child, the server, pid %d", o.PID, child)
			o.PID = child
		}
	}
	if o.Metrics != "" {
		u, err := url.Parse(o.Metrics)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cli.Usagef("--metrics %q: want an http URL like http://127.0.0.1:8080/metrics", o.Metrics)
		}
		if !o.allowRem && !isLoopbackHost(u.Hostname()) {
			return cli.Usagef("--metrics %q: not a loopback address (pass --allow-remote)", o.Metrics)
		}
	}
	return nil
}

// validateZipf checks --zipf and --place (hot over many posts).
func (o *options) validateZipf(set map[string]bool) error {
	if set["place"] && !set["zipf"] {
		return cli.Usagef("--place is for hot --zipf")
	}
	if !set["zipf"] {
		return nil
	}
	if o.Scenario != "hot" {
		return cli.Usagef("--zipf is for the hot scenario, not %s", o.Scenario)
	}
	if !(o.Zipf > 0 && o.Zipf <= 5) {
		return cli.Usagef("--zipf %g: want an exponent above 0 and at most 5 (1 is the classic long tail)", o.Zipf)
	}
	if !set["posts-count"] && !set["posts"] {
		return cli.Usagef("--zipf spreads readers over posts: give --posts-count M or --posts a,b,...")
	}
	if set["post"] || o.EmbedSites > 0 || o.Baseline || o.Compare {
		return cli.Usagef("--zipf picks the posts itself: leave out --post, --embed-sites, --baseline and --compare")
	}
	switch o.Place {
	case "":
		o.Place = scenario.PlaceRandom
	case scenario.PlaceRandom, scenario.PlacePost:
	default:
		return cli.Usagef("--place %q: want %s or %s", o.Place, scenario.PlaceRandom, scenario.PlacePost)
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
		"  readtag --sites http://site0.test,http://site1.test,http://site2.test &\n"+
		"  readtag-load storm --readers 3000 --embed-sites 3 --embed-pages 300\n"+
		"  readtag-load --make-posts /tmp/posts --count 100 && readtag --posts /tmp/posts &\n"+
		"  readtag-load idle --readers 10000 --posts-count 100\n"+
		"  readtag-load churn --rate 200 --life 1s --duration 60s --metrics http://127.0.0.1:8080/metrics\n"+
		"  readtag-load chart --out docs/latency.png hot.json\n"+
		"  readtag-load mem-sweep --server-cmd 'readtag --addr {addr} --posts /tmp/posts' --posts-count 1000 --json rt.json\n"+
		"  readtag-load mem-sweep --server-cmd bare --buffers trimmed --json bare.json\n"+
		"  readtag-load chart --out docs/memory.png rt.json bare.json\n")
}

// validateEmbed checks the embedded-page flags.
func (o *options) validateEmbed(set map[string]bool) error {
	if o.EmbedSites == 0 && !set["embed-sites"] {
		for _, f := range []string{"embed-pages", "embed-origin"} {
			if set[f] {
				return cli.Usagef("--%s needs --embed-sites", f)
			}
		}
		return nil
	}
	if o.Scenario != "hot" && o.Scenario != "storm" {
		return cli.Usagef("--embed-sites is for hot and storm, not %s", o.Scenario)
	}
	if o.EmbedSites < 1 || o.EmbedSites > 10000 {
		return cli.Usagef("--embed-sites %d: want 1 to 10000", o.EmbedSites)
	}
	if o.EmbedPages == 0 {
		o.EmbedPages = o.EmbedSites
	}
	if o.EmbedPages < o.EmbedSites || o.EmbedPages > 100000 {
		return cli.Usagef("--embed-pages %d with --embed-sites %d: want at least one page a site and at most 100000 pages",
			o.EmbedPages, o.EmbedSites)
	}
	for _, f := range []string{"post", "posts", "posts-count"} {
		if set[f] {
			return cli.Usagef("give --embed-sites or --%s, not both: readers join embedded pages or posts", f)
		}
	}
	if o.Baseline || o.Compare {
		return cli.Usagef("--embed-sites cannot run against the baseline server: it has no embedded pages")
	}
	if _, err := protocol.SiteOrigins(o.EmbedOrigin, o.EmbedSites); err != nil {
		return cli.Usagef("--embed-origin: %v", err)
	}
	return nil
}

// sweepCounts parses --counts.
func sweepCounts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1_000_000 {
			return nil, fmt.Errorf("--counts: %q is not a reader count from 1 to 1000000", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--counts: give one or more reader counts, e.g. 1000,5000,10000,15000")
	}
	return out, nil
}

// validateSweep checks the mem-sweep flags. The server is one process: it
// cannot hold more readers than its open-file limit (which it inherits
// from this one, raised to the hard limit) allows.
func (o *options) validateSweep(set map[string]bool, counts string) error {
	c, err := sweepCounts(counts)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	o.Counts = c
	if lim, err := wsclient.RaiseFileLimit(); err == nil {
		for _, n := range o.Counts {
			if uint64(n)+100 > lim {
				return cli.Usagef("--counts: %d readers, but one server process may open at most %d files: at most %d readers",
					n, lim, int(lim)-100)
			}
		}
	}
	for _, f := range []string{"targets", "pid", "metrics", "readers"} {
		if set[f] {
			return cli.Usagef("--%s is not for mem-sweep: it starts its own server per step (--server-cmd) and samples it", f)
		}
	}
	argv, err := o.SweepArgv("127.0.0.1:1")
	if err != nil {
		return cli.Usagef("--server-cmd: %v", err)
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return cli.Usagef("--server-cmd: %v", err)
	}
	if !servers.HasBuffers(o.Buffers) {
		return cli.Usagef("--buffers %q: want %s", o.Buffers, servers.BufferSetNames)
	}
	if o.Label == "" {
		o.Label = filepath.Base(argv[0])
		if o.ServerCmd == "bare" {
			o.Label = "bare (" + o.Buffers + " buffers"
			if o.ReduceMemory {
				o.Label += ", ReduceMemoryUsage"
			}
			if o.SharedPinger {
				o.Label += ", shared pinger"
			}
			o.Label += ")"
		}
	}
	return nil
}
