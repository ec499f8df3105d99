package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// testServer is a real readtag on 127.0.0.1:0: the real engine, the real
// Fiber app, real sockets.
type testServer struct {
	URL      string // http://127.0.0.1:port
	Server   *web.Server
	Presence *actors.Presence
	Logs     *syncBuffer
	Stop     func() // shuts the server down (also done at cleanup)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testPosts are two small posts and a draft.
var testPosts = fstest.MapFS{
	"alpha.md": {Data: []byte("---\ntitle: Alpha\ndate: 2026-01-02\nsummary: The first.\ntags: [go, actors]\n---\n\n## One\n\nText.\n")},
	"beta.md":  {Data: []byte("---\ntitle: Beta\ndate: 2026-03-04\nsummary: The second.\ntags: [go]\n---\n\nMore text.\n")},
	"draft.md": {Data: []byte("---\ntitle: Draft\ndate: 2026-05-06\nsummary: Not yet.\ndraft: true\n---\n\nSoon.\n")},
}

func startServer(t testing.TB, mutate func(*web.Config, *actors.Config)) *testServer {
	t.Helper()
	return startServerAt(t, "127.0.0.1:0", mutate)
}

// startServerAt starts a server on addr (to restart one on the same port).
func startServerAt(t testing.TB, addr string, mutate func(*web.Config, *actors.Config)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	library, err := posts.Open(testPosts, false)
	if err != nil {
		t.Fatal(err)
	}
	acfg := actors.Config{Logger: log, Tick: 20 * time.Millisecond}
	wcfg := web.Config{Posts: library, Views: views.Embedded, Logger: log}
	if mutate != nil {
		mutate(&wcfg, &acfg)
	}
	presence, err := actors.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	wcfg.Presence = presence
	if wcfg.Counts == nil {
		wcfg.Counts = presence.Counts
	}
	wcfg.EngineStats = presence.EngineStats
	wcfg.Health = presence.Health
	if acfg.Cluster != nil {
		wcfg.Cluster = presence.ClusterStatus
	}
	srv, err := web.New(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	presence.SetBacklog(srv.WritersWaiting) // as cmd/readtag does
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
				// What is still running says why; worth the noise on a failure.
				_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			}
			ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := presence.Close(ctx); err != nil {
				t.Errorf("close presence: %v", err)
			}
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &testServer{URL: "http://" + ln.Addr().String(), Server: srv, Presence: presence, Logs: logs, Stop: stop}
}

// dial connects a reader to slug as a same-origin page would.
func (ts *testServer) dial(t testing.TB, slug string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := client.Dial(ctx, client.URL(ts.URL, slug), client.Options{Origin: ts.URL, KeepFrames: true})
	if err != nil {
		t.Fatalf("dial %s: %v", slug, err)
	}
	t.Cleanup(func() { _ = c.Kill() })
	if err := c.Wait(ctx, c.Welcomed); err != nil {
		t.Fatalf("welcome on %s: %v", slug, err)
	}
	return c
}

func (ts *testServer) get(t testing.TB, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// waitGhosts polls until c's view is exactly want ("id@position").
func waitGhosts(t testing.TB, c *client.Conn, want ...string) {
	t.Helper()
	slices.Sort(want)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := c.Wait(ctx, func() bool { return slices.Equal(view(c), want) })
	if err != nil {
		t.Fatalf("%s sees %v, want %v: %v", c.You().ID, view(c), want, err)
	}
}

func view(c *client.Conn) []string {
	v := []string{}
	for _, r := range c.Ghosts() {
		v = append(v, fmt.Sprintf("%s@%g", r.ID, r.Position))
	}
	return v
}

func id(c *client.Conn) string { return c.You().ID }

// waitLimit bounds every wait of a test for something the system promises
// will happen: long enough that only a hang, never a loaded machine, hits it.
const waitLimit = 20 * time.Second

// eventually polls cond until it holds or waitLimit passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var errTimeout = errors.New("timeout")
