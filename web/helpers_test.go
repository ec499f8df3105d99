package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testserver"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// testServer is a real readtag (internal/testserver) serving testPosts,
// with the web tests' own helpers.
type testServer struct {
	*testserver.Server
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
	return &testServer{testserver.Start(t, testserver.Posts(testPosts), testserver.Addr(addr), testserver.Configure(fastTick(mutate)))}
}

// fastTick sets the engine's tick to 20 ms before mutate has its say.
func fastTick(mutate func(*web.Config, *actors.Config)) func(*web.Config, *actors.Config) {
	return func(w *web.Config, a *actors.Config) {
		a.Tick = 20 * time.Millisecond
		if mutate != nil {
			mutate(w, a)
		}
	}
}

// dial connects a reader to slug as a same-origin page would.
func (ts *testServer) dial(t testing.TB, slug string) *client.Conn {
	t.Helper()
	return ts.dialWith(t, slug, client.Options{})
}

// dialWith connects a reader with options (e.g. hidden) as a same-origin
// page would, and waits for its welcome.
func (ts *testServer) dialWith(t testing.TB, slug string, opt client.Options) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	opt.Origin, opt.KeepFrames = ts.URL, true
	c, err := client.Dial(ctx, client.URL(ts.URL, slug), opt)
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
// will happen.
const waitLimit = testutil.WaitLimit

// eventually is testutil.Eventually, short for the many waits here.
var eventually = testutil.Eventually

var errTimeout = errors.New("timeout")
