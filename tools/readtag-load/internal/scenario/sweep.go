package scenario

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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// mem-sweep measures memory per idle reader at several reader counts, each
// against a freshly started server: start it (--server-cmd), wait for
// /healthz, run idle with --pid on it, note its RSS growth per open reader,
// stop it. A fresh server per step matters: Go hands freed memory back to
// the OS slowly, so a server that held an earlier step's readers starts
// high and shows less growth.

// SweepArgv is the server's command line for one step, listening on addr.
// "bare" is this tool's own bare server; any other command is split on
// spaces (no shell) and must contain {addr}, replaced by host:port.
func (o *Options) SweepArgv(addr string) ([]string, error) {
	if o.ServerCmd == "bare" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv := []string{exe, "bare-server", "--addr", addr, "--buffers", o.Buffers, "--exit-on-eof"}
		if o.SharedPinger {
			argv = append(argv, "--shared-pinger")
		}
		if o.ReduceMemory {
			argv = append(argv, "--reduce-memory")
		}
		return argv, nil
	}
	f := strings.Fields(o.ServerCmd)
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
		return nil, fmt.Errorf("%q has no {addr}: the sweep picks a free port per step and the server must listen on it", o.ServerCmd)
	}
	return f, nil
}

// RunSweep runs mem-sweep and writes its report.
func RunSweep(ctx context.Context, o *Options, stdout, stderr io.Writer) error {
	rep := &stats.SweepReport{Tool: "readtag-load", Kind: "mem-sweep", Command: commandLine(o.Args), Start: time.Now(),
		Machine: machine(), Label: o.Label, ServerCmd: o.ServerCmd, Posts: o.PostsCount, Ramp: o.Ramp.String(), Duration: o.Duration.String()}
	var errs []error
	for _, n := range o.Counts {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		fmt.Fprintf(stdout, "== %s: %d idle readers on a fresh server\n", o.Label, n)
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
	stats.PrintSweep(stdout, rep)
	if o.JSONPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err == nil {
			err = os.WriteFile(o.JSONPath, append(b, '\n'), 0o644)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("write --json: %w", err))
		} else {
			fmt.Fprintf(stdout, "results written to %s\n", o.JSONPath)
		}
	}
	return errors.Join(errs...)
}

// sweepStep starts a fresh server, runs idle with n readers against it and
// stops it.
func sweepStep(ctx context.Context, o *Options, n int, stdout, stderr io.Writer) (stats.SweepPoint, *stats.Result, error) {
	pt := stats.SweepPoint{Readers: n}
	srv, err := startSweepServer(ctx, o)
	if err != nil {
		return pt, nil, err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "server at %s, pid %d\n", srv.url, srv.pid)

	step := *o
	step.Scenario, step.Readers, step.Targets, step.PID, step.Metrics, step.JSONPath = "idle", n, []string{srv.url}, srv.pid, "", ""
	r := &runner{o: &step, stdout: stdout, stderr: stderr}
	sctx, cancel := context.WithTimeout(ctx, step.Ramp+step.Duration+settleMax+3*time.Minute)
	defer cancel()
	irep := newReport(&step)
	err = r.idle(sctx, irep)
	if len(irep.Runs) > 0 {
		stats.PrintSummary(stdout, irep)
	}
	if len(irep.Runs) == 0 {
		return pt, nil, err
	}
	res := irep.Runs[0]
	res.Label = o.Label
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
func startSweepServer(ctx context.Context, o *Options) (*sweepServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	argv, err := o.SweepArgv(addr)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// ChildEnv lets a test binary standing in for the tool run main.
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
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
	if child, ok := stats.ResolvePID(s.pid); ok {
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

// RSS settling. After the last join the server is still digesting: Go's
// heap grows to its next GC goal, goroutine stacks and buffers are touched
// for the first time, and pings start. Memory per reader is taken at the
// end of the measured window, which opens only once RSS has held still
// (stats.RSSSettled), or settleMax has passed.
const settleMax = 30 * time.Second

// waitRSSSettled waits (at most settleMax) after the joins until the
// server's RSS holds still; it returns how long that took.
func (r *runner) waitRSSSettled(ctx context.Context, fl *fleet, sp spec) (time.Duration, error) {
	if sp.sampler.PID() <= 0 {
		return 0, nil
	}
	t0 := time.Now()
	samples := []stats.ServerSample{sp.sampler.Sample(ctx)}
	for time.Since(t0) < settleMax {
		if _, err := r.wait(ctx, fl, sp, time.Second, nil); err != nil {
			return time.Since(t0), err
		}
		samples = append(samples, sp.sampler.Sample(ctx))
		if stats.RSSSettled(samples) {
			return time.Since(t0), nil
		}
	}
	fmt.Fprintf(r.stderr, "readtag-load: the server's RSS was still moving %v after the last join; measuring anyway\n", settleMax)
	return time.Since(t0), nil
}
