package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testserver"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// TestSlowClientDoesNotDelayOthers puts a reader that stops reading into a
// busy post: its socket's buffers fill, the server's writes to it block, and
// its outbox fills with joins and leaves (which do not coalesce). Meanwhile
// the other readers must keep seeing each other's moves promptly, and the
// stalled reader must be closed by the server and leave their screens.
// "Promptly" is asserted by what happens while the server's write to the
// stalled reader is blocked (other readers' moves still arrive), not by a
// wall-clock bound on delays, which a loaded machine can exceed at will;
// the delays are logged.
//
// Linux autotunes a loopback socket's send buffer to 4 MB: a reader that
// never reads absorbs about 4 MB (tens of thousands of frames) before a
// single write blocks, which this test's traffic would take minutes to send.
// So the server's end of the stalled reader's socket gets its send buffer
// capped (8 KiB, as SO_SNDBUF, the kernel doubles it) and the stalled
// client caps its receive buffer (4 KiB): the stall bites after about 40 KB.
// The normal readers' sockets keep the kernel's defaults. Pings and the
// pong timeout are pushed past the test's end, so only the slow-client
// handling (the outbox limit and the write deadline) can close the stalled
// reader.
func TestSlowClientDoesNotDelayOthers(t *testing.T) {
	const (
		normals  = 4                     // readers that scroll and read
		scrolls  = 100                   // per normal reader, at least
		every    = 30 * time.Millisecond // 33 frames/s each: under the 50/s limit
		wait     = time.Second           // the server's WriteWait
		churners = 1                     // goroutines joining and leaving,
		churnGap = 40 * time.Millisecond // each at most one cycle per churnGap
		closedIn = 15 * time.Second      // the bound on the stalled reader's close
	)
	ts, ln := startSlowServer(t, func(w *web.Config, _ *actors.Config) {
		w.OutboxLimit = 32
		w.WriteWait = wait
		w.PingInterval = time.Minute
		w.PongWait = 2 * time.Minute
	})
	lat := &slowLatency{sent: make(map[string]time.Time)}

	// The normal readers, each watching the others.
	watchers := make([]*slowWatcher, normals)
	for i := range watchers {
		watchers[i] = dialSlowWatcher(t, ts, i, lat)
	}
	for _, w := range watchers {
		eventually(t, "the normal readers to see each other", func() bool { return len(w.c.Ghosts()) == normals-1 })
	}

	// The stalled reader: a raw socket that completes the handshake and
	// never reads a byte again.
	dialer := websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				err = c.(*net.TCPConn).SetReadBuffer(4 << 10)
			}
			return c, err
		},
	}
	stalled, _, err := dialer.Dial(client.URL(ts.URL, "alpha"), http.Header{"Origin": {ts.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if err := ln.capSendBuffer(stalled.NetConn().LocalAddr().String(), 8<<10); err != nil {
		t.Fatal(err)
	}
	stalledAt := time.Now()
	var stalledID string
	eventually(t, "the stalled reader to appear", func() bool {
		for _, g := range watchers[0].c.Ghosts() {
			if !slices.ContainsFunc(watchers, func(w *slowWatcher) bool { return w.id == g.ID }) {
				stalledID = g.ID
			}
		}
		return stalledID != ""
	})
	t.Logf("stalled reader %s joined", stalledID)

	// Other readers join and leave the post until the stalled one is gone
	// (or the deadline): every join and leave is one more frame queued for it.
	// They are paced, and the outbox is 32 rather than 16: a healthy
	// reader's outbox holds what arrives while its writer goroutine waits
	// for a CPU, and on a busy 2-core machine under -race that wait reached
	// a second. Unpaced, two churners made about 2500 cycles a second, 5000
	// frames a second to every reader, and with an outbox of 16 even the
	// normal readers were closed as too slow within 150 ms; at 200 cycles a
	// second that still happened in about one run in three under -race,
	// with or without a stalled reader on the post.
	stopChurn := make(chan struct{})
	var churned atomic.Int64
	var churning sync.WaitGroup
	for range churners {
		churning.Add(1)
		go func() {
			defer churning.Done()
			tick := time.NewTicker(churnGap)
			defer tick.Stop()
			for {
				select {
				case <-stopChurn:
					return
				case <-tick.C:
				}
				if err := slowChurnOnce(ts); err != nil {
					t.Errorf("churn: %v", err)
					return
				}
				churned.Add(1)
			}
		}()
	}
	churnStopped := false
	endChurn := func() {
		if !churnStopped {
			churnStopped = true
			close(stopChurn)
			churning.Wait()
		}
	}
	defer endChurn()

	// The normal readers scroll, each to positions of its own (so that every
	// position names its sender), one frame every 30 ms: 100 times, and on
	// until the stalled reader has left (or its deadline has passed), so
	// that they are scrolling while the server's writes to it are blocked.
	final := make([]float64, normals)
	var scrolling sync.WaitGroup
	start := time.Now()
	for i, w := range watchers {
		scrolling.Add(1)
		go func() {
			defer scrolling.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for k := 1; k <= scrolls || w.leftAt(stalledID).IsZero() && time.Since(stalledAt) < closedIn; k++ {
				<-tick.C
				p := float64(i*2500+k*4) / 10000 // unique up to k = 624, 18 s
				lat.send(w.id, p)
				if err := w.c.Scroll(p); err != nil {
					t.Errorf("reader %d scroll %d: %v", i, k, err)
					return
				}
				final[i] = p
			}
		}()
	}
	scrolling.Wait()
	lastSent := time.Now()
	t.Logf("%d readers scrolled for %v; %d join/leave cycles so far",
		normals, lastSent.Sub(start).Round(time.Millisecond), churned.Load())

	// (a) Every normal reader has every other's final position, promptly.
	for i, w := range watchers {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := w.c.Wait(ctx, func() bool {
			for j, o := range watchers {
				if j != i && !slices.Contains(view(w.c), fmt.Sprintf("%s@%g", o.id, final[j])) {
					return false
				}
			}
			return true
		})
		cancel()
		if err != nil {
			t.Fatalf("reader %d never got the others' final positions: sees %v: %v", i, view(w.c), err)
		}
	}
	n, maxAll, meanAll, maxFinal, worst := lat.summary(watchers, final)
	t.Logf("moves: %d deliveries between normal readers, delay mean %v, max %v (%s); final positions: slowest %v after it was sent",
		n, meanAll, maxAll, worst, maxFinal)

	// (b) The server closes the stalled reader, which leaves every screen.
	var leftAfter time.Duration
	firstLeft := time.Now()
	for i, w := range watchers {
		ctx, cancel := context.WithDeadline(context.Background(), stalledAt.Add(closedIn))
		err := w.c.Wait(ctx, func() bool { return w.leftAt(stalledID) != (time.Time{}) })
		cancel()
		if err != nil {
			t.Fatalf("reader %d: the stalled reader %s did not leave within %v of joining (%d join/leave cycles, %d sockets open): %v",
				i, stalledID, closedIn, churned.Load(), ts.Web.Connections(), err)
		}
		leftAfter = max(leftAfter, w.leftAt(stalledID).Sub(stalledAt))
		if at := w.leftAt(stalledID); at.Before(firstLeft) {
			firstLeft = at
		}
	}
	endChurn()
	eventually(t, "only the normal readers' sockets to stay open", func() bool { return ts.Web.Connections() == normals })
	t.Logf("stalled reader left every screen %v after it joined (scrolling started %v after it joined, ended %v after); %d join/leave cycles in all",
		leftAfter.Round(time.Millisecond), start.Sub(stalledAt).Round(time.Millisecond),
		lastSent.Sub(stalledAt).Round(time.Millisecond), churned.Load())
	for _, w := range watchers {
		if slices.ContainsFunc(w.c.Ghosts(), func(g client.Reader) bool { return g.ID == stalledID }) {
			t.Errorf("%s still sees the stalled reader", w.id)
		}
	}
	// The server gives up on a socket when one write has been blocked for
	// WriteWait, so in the WriteWait before the leave its writer was stuck.
	moved, slowest := lat.deliveredWhile(firstLeft.Add(-wait), firstLeft)
	t.Logf("in the %v before the leave, while a write to the stalled reader was blocked, %d moves reached normal readers, the slowest after %v",
		wait, moved, slowest)
	if moved == 0 {
		t.Errorf("no move reached a normal reader while a write to the stalled reader was blocked")
	}

	// Why the server let go of it, and what it had managed to send.
	for _, line := range strings.Split(ts.Logs.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["reader"] == stalledID {
			delete(l, "time")
			delete(l, "post")
			delete(l, "reader")
			t.Logf("server log for the stalled reader: %v", l)
		}
	}
	_ = stalled.SetReadDeadline(time.Now().Add(waitLimit))
	frames, bytes := 0, 0
	var end error
	for {
		_, data, err := stalled.ReadMessage()
		if err != nil {
			end = err
			break
		}
		frames++
		bytes += len(data)
	}
	t.Logf("the stalled socket held %d frames (%d bytes of payload), then: %v", frames, bytes, end)
	var ne net.Error
	if errors.As(end, &ne) && ne.Timeout() {
		t.Errorf("the stalled socket was still open %v after the server let go of its reader", waitLimit)
	}
}

// slowWatcher is a normal reader that records when each leave arrived.
type slowWatcher struct {
	c  *client.Conn
	id string

	mu   sync.Mutex
	left map[string]time.Time
}

func (w *slowWatcher) leftAt(id string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.left[id]
}

func dialSlowWatcher(t *testing.T, ts *testServer, i int, lat *slowLatency) *slowWatcher {
	t.Helper()
	w := &slowWatcher{left: make(map[string]time.Time)}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := client.Dial(ctx, client.URL(ts.URL, "alpha"), client.Options{
		Origin: ts.URL,
		OnFrame: func(f client.Frame) {
			switch f.Type {
			case "moves":
				lat.receive(i, f)
			case "leave":
				w.mu.Lock()
				if _, ok := w.left[f.ID]; !ok {
					w.left[f.ID] = f.Received
				}
				w.mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Kill() })
	if err := c.Wait(ctx, c.Welcomed); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	w.c, w.id = c, c.You().ID
	return w
}

// slowLatency matches the moves the normal readers receive with the scrolls
// that caused them (every position is unique to its sender).
type slowLatency struct {
	mu   sync.Mutex
	sent map[string]time.Time // "id@position" → when it was sent
	got  []slowDelivery
}

type slowDelivery struct {
	to      int
	key     string
	at      time.Time
	latency time.Duration
}

func (l *slowLatency) send(id string, p float64) {
	l.mu.Lock()
	l.sent[fmt.Sprintf("%s@%g", id, p)] = time.Now()
	l.mu.Unlock()
}

func (l *slowLatency) receive(to int, f client.Frame) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range f.Moves {
		key := fmt.Sprintf("%s@%g", m.ID, m.Position)
		if sent, ok := l.sent[key]; ok {
			l.got = append(l.got, slowDelivery{to: to, key: key, at: f.Received, latency: f.Received.Sub(sent)})
		}
	}
}

// summary reports every matched delivery's mean and worst delay, and the
// worst delay of a final position.
func (l *slowLatency) summary(ws []*slowWatcher, final []float64) (n int, maxAll, mean, maxFinal time.Duration, worst string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	finals := map[string]bool{}
	for i, w := range ws {
		finals[fmt.Sprintf("%s@%g", w.id, final[i])] = true
	}
	var sum time.Duration
	for _, d := range l.got {
		sum += d.latency
		if d.latency > maxAll {
			maxAll = d.latency
			worst = fmt.Sprintf("%s to reader %d", d.key, d.to)
		}
		if finals[d.key] {
			maxFinal = max(maxFinal, d.latency)
		}
	}
	if n = len(l.got); n > 0 {
		mean = sum / time.Duration(n)
	}
	return n, maxAll.Round(time.Microsecond), mean.Round(time.Microsecond), maxFinal.Round(time.Microsecond), worst
}

// deliveredWhile counts the deliveries that arrived between from and to,
// and reports the slowest of them.
func (l *slowLatency) deliveredWhile(from, to time.Time) (n int, slowest time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.got {
		if d.at.After(from) && d.at.Before(to) {
			n++
			slowest = max(slowest, d.latency)
		}
	}
	return n, slowest.Round(time.Microsecond)
}

// slowChurnOnce is one reader arriving on the post and leaving again.
func slowChurnOnce(ts *testServer) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := client.Dial(ctx, client.URL(ts.URL, "alpha"), client.Options{Origin: ts.URL})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Wait(ctx, c.Welcomed)
}

// startSlowServer is startServer on a listener that can cap the kernel send
// buffer of one accepted socket, so that a client that stops reading blocks
// the server's writes within a few KB. The web logger keeps, from debug
// level, only the lines that say why a socket closed; the engine logs at
// info (tracing off, as in production).
func startSlowServer(t *testing.T, mutate func(*web.Config, *actors.Config)) (*testServer, *slowListener) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	var sl *slowListener
	ts := testserver.Start(t, testserver.Posts(testPosts), testserver.Logs(logs), testserver.StopTimeout(waitLimit),
		testserver.WrapListener(func(ln net.Listener) net.Listener {
			sl = &slowListener{TCPListener: ln.(*net.TCPListener), conns: make(map[string]*net.TCPConn)}
			return sl
		}),
		testserver.Configure(func(w *web.Config, a *actors.Config) {
			w.Logger = slog.New(slowLogFilter{slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
			a.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		}),
		testserver.Configure(fastTick(mutate)))
	return &testServer{ts}, sl
}

// slowListener remembers every accepted socket by its remote address.
type slowListener struct {
	*net.TCPListener
	mu    sync.Mutex
	conns map[string]*net.TCPConn
}

func (l *slowListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c.RemoteAddr().String()] = c
	l.mu.Unlock()
	return c, nil
}

// capSendBuffer sets SO_SNDBUF (which also stops its autotuning) on the
// server's end of the connection from the client address remote.
func (l *slowListener) capSendBuffer(remote string, bytes int) error {
	l.mu.Lock()
	c, ok := l.conns[remote]
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("no accepted connection from %s", remote)
	}
	return c.SetWriteBuffer(bytes)
}

// slowLogFilter passes info and above, and of the debug lines only those
// about a socket closing: the rest (every frame in and out) would make the
// log the test's bottleneck.
type slowLogFilter struct{ slog.Handler }

func (f slowLogFilter) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Level >= slog.LevelInfo,
		r.Message == "websocket closed",
		r.Message == "websocket close sent",
		r.Message == "websocket write failed":
		return f.Handler.Handle(ctx, r)
	}
	return nil
}

func (f slowLogFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return slowLogFilter{f.Handler.WithAttrs(as)}
}

func (f slowLogFilter) WithGroup(name string) slog.Handler {
	return slowLogFilter{f.Handler.WithGroup(name)}
}
