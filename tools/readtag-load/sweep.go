package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// mem-sweep measures memory per idle reader at several reader counts, each
// against a freshly started server: start it (--server-cmd), wait for
// /healthz, run idle with --pid on it, note its RSS growth per open reader,
// stop it. A fresh server per step matters: Go hands freed memory back to
// the OS slowly, so a server that held an earlier step's readers starts
// high and shows less growth.

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
		return usagef("%v", err)
	}
	o.counts = c
	if lim, err := raiseFileLimit(); err == nil {
		for _, n := range o.counts {
			if uint64(n)+100 > lim {
				return usagef("--counts: %d readers, but one server process may open at most %d files: at most %d readers",
					n, lim, int(lim)-100)
			}
		}
	}
	for _, f := range []string{"targets", "pid", "metrics", "readers"} {
		if set[f] {
			return usagef("--%s is not for mem-sweep: it starts its own server per step (--server-cmd) and samples it", f)
		}
	}
	argv, err := o.sweepArgv("127.0.0.1:1")
	if err != nil {
		return usagef("--server-cmd: %v", err)
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return usagef("--server-cmd: %v", err)
	}
	if _, ok := bareBufferSets[o.buffers]; !ok {
		return usagef("--buffers %q: want %s", o.buffers, bufferSetNames())
	}
	if o.label == "" {
		o.label = filepath.Base(argv[0])
		if o.serverCmd == "bare" {
			o.label = "bare (" + o.buffers + " buffers"
			if o.reduceMem {
				o.label += ", ReduceMemoryUsage"
			}
			if o.sharedPinger {
				o.label += ", shared pinger"
			}
			o.label += ")"
		}
	}
	return nil
}

// sweepArgv is the server's command line for one step, listening on addr.
// "bare" is this tool's own bare server; any other command is split on
// spaces (no shell) and must contain {addr}, replaced by host:port.
func (o *options) sweepArgv(addr string) ([]string, error) {
	if o.serverCmd == "bare" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv := []string{exe, "bare-server", "--addr", addr, "--buffers", o.buffers, "--exit-on-eof"}
		if o.sharedPinger {
			argv = append(argv, "--shared-pinger")
		}
		if o.reduceMem {
			argv = append(argv, "--reduce-memory")
		}
		return argv, nil
	}
	f := strings.Fields(o.serverCmd)
	if len(f) == 0 {
		return nil, errors.New(`give the server's command line with {addr} where its listen address goes, e.g. "readtag --addr {addr} --posts /tmp/posts", or "bare"`)
	}
	found := false
	for i := range f {
		if strings.Contains(f[i], "{addr}") {
			found = true
			f[i] = strings.ReplaceAll(f[i], "{addr}", addr)
		}
	}
	if !found {
		return nil, fmt.Errorf("%q has no {addr}: the sweep picks a free port per step and the server must listen on it", o.serverCmd)
	}
	return f, nil
}

// runSweep runs the sweep and writes its report.
func runSweep(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	host, _ := os.Hostname()
	lim, _ := raiseFileLimit()
	rep := &SweepReport{Tool: "readtag-load", Kind: "mem-sweep", Command: commandLine(o.args), Start: time.Now(),
		Machine: Machine{NumCPU: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Hostname: host,
			GoVersion: runtime.Version(), OpenFileLimit: lim},
		Label: o.label, ServerCmd: o.serverCmd, Posts: o.postsCount, Ramp: o.ramp.String(), Duration: o.duration.String()}
	var errs []error
	for _, n := range o.counts {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		fmt.Fprintf(stdout, "== %s: %d idle readers on a fresh server\n", o.label, n)
		pt, res, err := sweepStep(ctx, o, n, stdout, stderr)
		if err != nil {
			pt.Error = err.Error()
			errs = append(errs, fmt.Errorf("%d readers: %w", n, err))
		}
		rep.Points = append(rep.Points, pt)
		if res != nil {
			rep.Runs = append(rep.Runs, res)
		}
	}
	printSweep(stdout, rep)
	if o.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(o.jsonPath, append(b, '\n'), 0o644)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write --json: %w", err))
		} else {
			fmt.Fprintf(stdout, "results written to %s\n", o.jsonPath)
		}
	}
	return errors.Join(errs...)
}

// sweepStep starts a fresh server, runs idle with n readers against it and
// stops it.
func sweepStep(ctx context.Context, o *options, n int, stdout, stderr io.Writer) (SweepPoint, *Result, error) {
	pt := SweepPoint{Readers: n}
	srv, err := startSweepServer(ctx, o)
	if err != nil {
		return pt, nil, err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "server at %s, pid %d\n", srv.url, srv.pid)

	step := *o
	step.scenario, step.readers, step.targets, step.pid, step.metrics, step.jsonPath = "idle", n, []string{srv.url}, srv.pid, "", ""
	r := &runner{o: &step, stdout: stdout, stderr: stderr}
	sctx, cancel := context.WithTimeout(ctx, step.ramp+step.duration+settleMax+3*time.Minute)
	defer cancel()
	irep := newReport(&step)
	err = r.idle(sctx, irep)
	if len(irep.Runs) > 0 {
		printSummary(stdout, irep)
	}
	if len(irep.Runs) == 0 {
		return pt, nil, err
	}
	res := irep.Runs[0]
	res.Label = o.label
	pt.Welcomed, pt.Failed, pt.OpenAtEnd = res.Welcomed, res.Failed, res.OpenAtEnd
	pt.SettledAfter = r.settledAfter.Round(time.Second).String()
	if s := res.Server; s != nil {
		pt.RSSBefore, pt.RSSHold, pt.MemPerReader = s.RSSBefore, s.RSSHold, s.MemPerReader
	}
	if err == nil && srv.exited() {
		err = fmt.Errorf("the server exited during the run: %s", srv.tail())
	}
	return pt, res, err
}

// sweepServer is one step's server process.
type sweepServer struct {
	cmd   *exec.Cmd
	pid   int
	url   string
	stdin io.WriteCloser
	done  chan struct{}
	out   *tailWriter
}

// startSweepServer starts the server on a free loopback port and waits for
// its /healthz to answer 200.
func startSweepServer(ctx context.Context, o *options) (*sweepServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	argv, err := o.sweepArgv(addr)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// childEnv lets a test binary standing in for the tool run main.
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out := &tailWriter{max: 4096}
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	s := &sweepServer{cmd: cmd, pid: cmd.Process.Pid, url: "http://" + addr, stdin: stdin, done: make(chan struct{}), out: out}
	go func() { _ = cmd.Wait(); close(s.done) }()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("the server (%s) exited at start: %s", strings.Join(argv, " "), s.tail())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the server (%s) did not answer GET /healthz with 200 within 30s: %s", strings.Join(argv, " "), s.tail())
		}
	}
	// `go run` is not the server: sample its only child.
	if child, ok := resolvePID(s.pid); ok {
		s.pid = child
	}
	return s, nil
}

func (s *sweepServer) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *sweepServer) tail() string {
	t := strings.TrimSpace(s.out.String())
	if t == "" {
		return "(no output)"
	}
	return t
}

// stop asks the server to end (stdin closed, SIGTERM) and kills it if it
// is still there after 10 s.
func (s *sweepServer) stop() {
	_ = s.stdin.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// printSweep writes the sweep's table.
func printSweep(w io.Writer, rep *SweepReport) {
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

// RSS settling. After the last join the server is still digesting: Go's
// heap grows to its next GC goal, goroutine stacks and buffers are touched
// for the first time, and pings start. Memory per reader is taken at the
// end of the measured window, which opens only once RSS has held still.
const (
	settleMax    = 30 * time.Second
	settleWindow = 3 // consecutive one-second samples
)

// rssSettled reports whether the last settleWindow+1 RSS samples (one a
// second) lie within 0.5% (at least 256 KiB) of each other.
func rssSettled(samples []ServerSample) bool {
	if len(samples) < settleWindow+1 {
		return false
	}
	last := samples[len(samples)-settleWindow-1:]
	var rss []int64
	for _, s := range last {
		v, ok := s.rss()
		if !ok {
			return false
		}
		rss = append(rss, v)
	}
	lo, hi := slices.Min(rss), slices.Max(rss)
	return hi-lo <= max(hi/200, 256<<10)
}

// waitRSSSettled waits (at most settleMax) after the joins until the
// server's RSS holds still; it returns how long that took.
func (r *runner) waitRSSSettled(ctx context.Context, fl *fleet, sp spec) (time.Duration, error) {
	if sp.sampler == nil || sp.sampler.pid <= 0 {
		return 0, nil
	}
	t0 := time.Now()
	samples := []ServerSample{sp.sampler.sample(ctx)}
	for time.Since(t0) < settleMax {
		if _, err := r.wait(ctx, fl, sp, time.Second, nil); err != nil {
			return time.Since(t0), err
		}
		samples = append(samples, sp.sampler.sample(ctx))
		if rssSettled(samples) {
			return time.Since(t0), nil
		}
	}
	fmt.Fprintf(r.stderr, "readtag-load: the server's RSS was still moving %v after the last join; measuring anyway\n", settleMax)
	return time.Since(t0), nil
}
