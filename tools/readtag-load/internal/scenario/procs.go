package scenario

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

// maxConnsPerProc keeps each process well under the 20,000 open files a
// process may have here (sockets plus a margin for everything else).
const maxConnsPerProc = 15000

// ChildEnv marks a process started by this tool. The tool's own main ignores
// it; the test binary's TestMain uses it to run main instead of the tests,
// so tests can exercise worker processes and the baseline child.
const ChildEnv = "READTAG_LOAD_CHILD"

// worker is one share of the connections: an engine in this process, or a
// child process running one.
type worker interface {
	snapshot() stats.Stats
	measure(on bool)
	views(ctx context.Context) ([]wsclient.View, int, error)
	stop(ctx context.Context) (stats.Stats, error)
	failure() error // non-nil once the worker has died
}

// fleet is all the workers of one run.
type fleet struct{ workers []worker }

// startFleet starts procs workers on plan (in this process when procs is 1).
func startFleet(ctx context.Context, plan wsclient.Plan, procs int, stderr io.Writer) (*fleet, error) {
	plan.Workers = procs
	if procs == 1 {
		e := wsclient.New(plan)
		e.Start()
		return &fleet{workers: []worker{&localWorker{e}}}, nil
	}
	f := &fleet{}
	for i := range procs {
		p := plan
		p.Worker = i
		if p.CPUProfile != "" {
			p.CPUProfile = fmt.Sprintf("%s.%d", p.CPUProfile, i)
		}
		w, err := startRemote(p, stderr)
		if err != nil {
			_, _ = f.stop(ctx)
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
		f.workers = append(f.workers, w)
	}
	return f, nil
}

func (f *fleet) snapshot() stats.Stats {
	var s stats.Stats
	for _, w := range f.workers {
		st := w.snapshot()
		s.Merge(&st)
	}
	return s
}

func (f *fleet) measure(on bool) {
	for _, w := range f.workers {
		w.measure(on)
	}
}

// views gathers every worker's views; pending counts connections that are
// open but not yet welcomed.
func (f *fleet) views(ctx context.Context) (all []wsclient.View, pending int, err error) {
	for _, w := range f.workers {
		vs, p, err := w.views(ctx)
		if err != nil {
			return nil, 0, err
		}
		all = append(all, vs...)
		pending += p
	}
	return all, pending, nil
}

// failure is the first worker death, if any.
func (f *fleet) failure() error {
	for i, w := range f.workers {
		if err := w.failure(); err != nil {
			return fmt.Errorf("worker %d: %w", i, err)
		}
	}
	return nil
}

// stop stops every worker at once and merges their final stats.
func (f *fleet) stop(ctx context.Context) (stats.Stats, error) {
	finals := make([]stats.Stats, len(f.workers))
	errs := make([]error, len(f.workers))
	var wg sync.WaitGroup
	for i, w := range f.workers {
		wg.Go(func() { finals[i], errs[i] = w.stop(ctx) })
	}
	wg.Wait()
	var s stats.Stats
	for i := range finals {
		s.Merge(&finals[i])
	}
	return s, errors.Join(errs...)
}

type localWorker struct{ e *wsclient.Engine }

func (w *localWorker) snapshot() stats.Stats                     { return w.e.Snapshot() }
func (w *localWorker) measure(on bool)                           { w.e.SetMeasuring(on) }
func (w *localWorker) failure() error                            { return nil }
func (w *localWorker) stop(context.Context) (stats.Stats, error) { return w.e.Stop(), nil }
func (w *localWorker) views(context.Context) ([]wsclient.View, int, error) {
	vs, p := w.e.Views()
	return vs, p, nil
}

// The parent and a worker process talk in JSON lines: commands on the
// worker's stdin (the first carries the plan; EOF means stop, so a worker
// whose parent died stops too), messages on its stdout.
type workerCmd struct {
	Cmd  string         `json:"cmd"` // plan, measure, freeze, views, stop
	Plan *wsclient.Plan `json:"plan,omitempty"`
}

type workerMsg struct {
	Kind    string          `json:"kind"` // stats, views, final, error
	Stats   *stats.Stats    `json:"stats,omitempty"`
	Views   []wsclient.View `json:"views,omitempty"`
	Pending int             `json:"pending,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// statsEvery is how often a worker reports; the progress line is per second.
const statsEvery = 250 * time.Millisecond

// RunWorker is a worker process (the hidden --worker flag): it reads its
// plan from in, runs it, and streams stats to out until told to stop, its
// input ends, or the plan's deadline passes.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	if !sc.Scan() {
		return errors.New("worker: no plan on stdin")
	}
	var first workerCmd
	if err := json.Unmarshal(sc.Bytes(), &first); err != nil || first.Cmd != "plan" || first.Plan == nil {
		return fmt.Errorf("worker: bad plan line: %v", err)
	}
	if path := first.Plan.CPUProfile; path != "" {
		stop, err := StartCPUProfile(path)
		if err != nil {
			return err
		}
		defer func() { _ = stop() }()
	}
	e := wsclient.New(*first.Plan)
	var wmu sync.Mutex
	enc := json.NewEncoder(out)
	send := func(m workerMsg) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = enc.Encode(m)
	}
	e.Start()

	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for sc.Scan() {
			var c workerCmd
			if json.Unmarshal(sc.Bytes(), &c) != nil {
				continue
			}
			switch c.Cmd {
			case "measure":
				e.SetMeasuring(true)
			case "freeze":
				e.SetMeasuring(false)
			case "views":
				vs, p := e.Views()
				send(workerMsg{Kind: "views", Views: vs, Pending: p})
			case "stop":
				return
			}
		}
	}()
	deadline := time.NewTimer(time.Until(first.Plan.Deadline))
	defer deadline.Stop()
	tick := time.NewTicker(statsEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			st := e.Snapshot()
			send(workerMsg{Kind: "stats", Stats: &st})
			continue
		case <-stop:
		case <-deadline.C:
		case <-ctx.Done():
		}
		break
	}
	final := e.Stop()
	send(workerMsg{Kind: "final", Stats: &final})
	return nil
}

// StartCPUProfile starts profiling this process into path; stop ends the
// profile and closes the file.
func StartCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}

// remoteWorker is a child process running runWorker.
type remoteWorker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	wmu   sync.Mutex // stdin writes

	mu      sync.Mutex
	latest  stats.Stats
	final   *stats.Stats
	err     error
	viewsCh chan workerMsg
	exited  chan struct{}
}

func startRemote(plan wsclient.Plan, stderr io.Writer) (*remoteWorker, error) {
	cmd, stdin, stdout, err := startSelf(stderr, fmt.Sprintf("worker %d: ", plan.Worker), "--worker")
	if err != nil {
		return nil, err
	}
	w := &remoteWorker{cmd: cmd, stdin: stdin, viewsCh: make(chan workerMsg, 1), exited: make(chan struct{})}
	go w.read(stdout)
	if err := w.send(workerCmd{Cmd: "plan", Plan: &plan}); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	return w, nil
}

func (w *remoteWorker) send(c workerCmd) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_, err = w.stdin.Write(append(b, '\n'))
	return err
}

// read takes the worker's messages until its stdout closes, then reaps it.
func (w *remoteWorker) read(r io.Reader) {
	defer close(w.exited)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		var m workerMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue
		}
		switch m.Kind {
		case "stats", "final":
			w.mu.Lock()
			if m.Stats != nil {
				w.latest = *m.Stats
				if m.Kind == "final" {
					w.final = m.Stats
				}
			}
			w.mu.Unlock()
		case "views":
			select {
			case w.viewsCh <- m:
			default:
			}
		case "error":
			w.mu.Lock()
			w.err = errors.New(m.Error)
			w.mu.Unlock()
		}
	}
	err := w.cmd.Wait()
	w.mu.Lock()
	if w.final == nil && w.err == nil {
		w.err = fmt.Errorf("exited before reporting: %v", err)
	}
	w.mu.Unlock()
}

func (w *remoteWorker) snapshot() stats.Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest.Clone()
}

func (w *remoteWorker) measure(on bool) {
	cmd := "freeze"
	if on {
		cmd = "measure"
	}
	_ = w.send(workerCmd{Cmd: cmd})
}

func (w *remoteWorker) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.final != nil {
		return nil
	}
	return w.err
}

func (w *remoteWorker) views(ctx context.Context) ([]wsclient.View, int, error) {
	if err := w.send(workerCmd{Cmd: "views"}); err != nil {
		return nil, 0, err
	}
	select {
	case m := <-w.viewsCh:
		return m.Views, m.Pending, nil
	case <-w.exited:
		return nil, 0, errors.New("worker exited")
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-time.After(10 * time.Second):
		return nil, 0, errors.New("worker did not report its views within 10s")
	}
}

// stop asks the worker to stop, waits for its final stats (bounded), and
// kills it if it does not exit.
func (w *remoteWorker) stop(ctx context.Context) (stats.Stats, error) {
	_ = w.send(workerCmd{Cmd: "stop"})
	_ = w.stdin.Close()
	select {
	case <-w.exited:
	case <-time.After(15 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.final != nil {
		return w.final.Clone(), nil
	}
	return w.latest.Clone(), w.err
}

// startSelf starts this program again with args, marked with ChildEnv, its
// stderr written to stderr line by line after prefix, and returns it with
// its stdin and stdout.
func startSelf(stderr io.Writer, prefix string, args ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.Stderr = &prefixWriter{w: stderr, prefix: prefix}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdin, stdout, nil
}

// prefixWriter prefixes every line a child writes to stderr.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
