package web_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

func TestReadersSeeEachOther(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.dial(t, "alpha")
	b := ts.dial(t, "alpha")
	c := ts.dial(t, "alpha")
	d := ts.dial(t, "beta")

	// The welcome lists those already there; joins announce later ones.
	if w, _, _ := a.WaitFrame(context.Background(), "welcome", 0); len(w.Readers) != 0 {
		t.Errorf("first reader's welcome lists %v", w.Readers)
	}
	if w, _, _ := c.WaitFrame(context.Background(), "welcome", 0); len(w.Readers) != 2 {
		t.Errorf("third reader's welcome lists %d readers, want 2", len(w.Readers))
	}
	colors := map[string]bool{a.You().Color: true, b.You().Color: true, c.You().Color: true}
	if len(colors) != 3 {
		t.Errorf("three readers share colours: %v %v %v", a.You(), b.You(), c.You())
	}

	if err := a.Scroll(0.25); err != nil {
		t.Fatal(err)
	}
	if err := b.Scroll(0.5); err != nil {
		t.Fatal(err)
	}
	if err := d.Scroll(0.9); err != nil {
		t.Fatal(err)
	}
	waitGhosts(t, a, id(b)+"@0.5", id(c)+"@0")
	waitGhosts(t, b, id(a)+"@0.25", id(c)+"@0")
	waitGhosts(t, c, id(a)+"@0.25", id(b)+"@0.5")
	waitGhosts(t, d) // alone on beta

	// Own moves are never echoed.
	for _, f := range a.Frames() {
		for _, m := range f.Moves {
			if m.ID == id(a) {
				t.Errorf("a was sent its own move: %s", f.Raw)
			}
		}
	}

	// A clean close removes the reader everywhere.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitGhosts(t, a, id(c)+"@0")
	waitGhosts(t, c, id(a)+"@0.25")
}

func TestLeaveWithoutCloseFrame(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.dial(t, "alpha")
	b := ts.dial(t, "alpha")
	waitGhosts(t, a, id(b)+"@0")
	start := time.Now()
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	waitGhosts(t, a)
	t.Logf("killed reader left the other screen after %v", time.Since(start))
}

// deafReader starts a server that pings every 100 ms and waits pongWait for
// an answer, with a reader on alpha that watches, and a raw socket on alpha
// that completes the handshake and then never reads again: it answers no
// ping, as a browser on a dead network would not.
func deafReader(t *testing.T, pongWait time.Duration) (watcher *client.Conn, deaf *websocket.Conn) {
	t.Helper()
	ts := startServer(t, func(w *web.Config, _ *actors.Config) {
		w.PingInterval = 100 * time.Millisecond
		w.PongWait = pongWait
	})
	watcher = ts.dial(t, "alpha")
	h := map[string][]string{"Origin": {ts.URL}}
	deaf, _, err := websocket.DefaultDialer.Dial(client.URL(ts.URL, "alpha"), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deaf.Close() })
	eventually(t, "the deaf reader to appear", func() bool { return len(watcher.Ghosts()) == 1 })
	return watcher, deaf
}

func TestVanishedClientTimesOut(t *testing.T) {
	a, _ := deafReader(t, 500*time.Millisecond)
	start := time.Now()
	waitGhosts(t, a)
	t.Logf("silent reader removed %v after it appeared (pong wait 500ms)", time.Since(start))
}

// A client that answers no ping but keeps scrolling stays (every frame
// extends the read deadline, even though the deadline is moved only once it
// has fallen an eighth of the pong wait behind), and is removed once it goes
// quiet.
func TestScrollingKeepsReaderAlive(t *testing.T) {
	a, ws := deafReader(t, 400*time.Millisecond)
	// Five pong waits of scrolling, one every 40 ms; the socket reads
	// nothing, so it answers no ping.
	for i := range 50 {
		if err := ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"scroll","position":0.%02d}`, i+1)); err != nil {
			t.Fatalf("scroll %d: %v (the server closed a reader that kept scrolling)", i, err)
		}
		if len(a.Ghosts()) != 1 {
			t.Fatalf("the reader was removed after %d scrolls while it kept scrolling", i)
		}
		time.Sleep(40 * time.Millisecond) // the client's scroll rhythm
	}
	start := time.Now()
	waitGhosts(t, a)
	t.Logf("a reader that stopped scrolling was removed %v later (pong wait 400ms)", time.Since(start))
}

func TestBadInput(t *testing.T) {
	ts := startServer(t, nil)
	other := ts.dial(t, "alpha")
	c := ts.dial(t, "alpha")
	waitGhosts(t, other, id(c)+"@0")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	for _, tc := range []struct{ name, frame, want string }{
		{"invalid JSON", `{"type":`, "invalid JSON"},
		{"not an object", `[1,2]`, "invalid JSON"},
		{"null", `null`, "invalid JSON"},
		{"unknown type", `{"type":"dance"}`, `unknown message type "dance"`},
		{"missing type", `{"position":0.5}`, `missing or non-string "type"`},
		{"position too big", `{"type":"scroll","position":1.5}`, `"position" must be a number from 0 to 1`},
		{"negative position", `{"type":"scroll","position":-0.1}`, `"position" must be a number from 0 to 1`},
		{"string position", `{"type":"scroll","position":"0.5"}`, `"position" must be a number from 0 to 1`},
		{"missing position", `{"type":"scroll"}`, `"position" must be a number from 0 to 1`},
	} {
		n := len(c.Frames())
		if err := c.WriteText([]byte(tc.frame)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		f, _, err := c.WaitFrame(ctx, "error", n)
		if err != nil {
			t.Fatalf("%s: no error frame: %v", tc.name, err)
		}
		if !strings.Contains(f.Error, tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", tc.name, f.Error, tc.want)
		}
	}
	n := len(c.Frames())
	if err := c.WriteBinary([]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if f, _, err := c.WaitFrame(ctx, "error", n); err != nil || !strings.Contains(f.Error, "binary") {
		t.Errorf("binary frame: %q, %v", f.Error, err)
	}

	// The connection is still open and the others still see it move.
	if err := c.Scroll(0.3); err != nil {
		t.Fatal(err)
	}
	waitGhosts(t, other, id(c)+"@0.3")

	t.Run("oversized frame closes with 1009", func(t *testing.T) {
		big := ts.dial(t, "alpha")
		_ = big.WriteText([]byte(`{"type":"scroll","position":0.5,"pad":"` + strings.Repeat("x", 1100) + `"}`))
		assertClosed(t, big, websocket.CloseMessageTooBig, "")
		waitGhosts(t, other, id(c)+"@0.3")
	})
	t.Run("flooding closes with 1008", func(t *testing.T) {
		flood := ts.dial(t, "alpha")
		for i := 0; i < 200; i++ {
			if flood.WriteText([]byte(`{"type":"scroll","position":0.1}`)) != nil {
				break
			}
		}
		assertClosed(t, flood, websocket.ClosePolicyViolation, "too many messages")
		waitGhosts(t, other, id(c)+"@0.3")
	})
	// And after all that, the well-behaved reader still works.
	if err := c.Scroll(0.6); err != nil {
		t.Fatal(err)
	}
	waitGhosts(t, other, id(c)+"@0.6")
}

func assertClosed(t *testing.T, c *client.Conn, code int, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := c.WaitClosed(ctx)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Text, reason) {
		t.Fatalf("closed with %v, want code %d and reason containing %q", err, code, reason)
	}
}

func TestOrigin(t *testing.T) {
	ts := startServer(t, func(w *web.Config, _ *actors.Config) {
		w.AllowedOrigins = []string{"https://friend.example", "HTTP://Other.Example:8080/"}
	})
	ctx := context.Background()
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{ts.URL, true},
		{strings.ToUpper(ts.URL), true}, // scheme and host are case-insensitive
		{"", true},                      // not a browser: no cross-site page involved
		{"https://friend.example", true},
		{"https://FRIEND.Example", true},
		{"https://friend.example:443", true}, // the default port is no port
		{"http://other.example:8080", true},
		{"https://evil.example", false},
		{"http://friend.example", false}, // another scheme is another origin
		{"https://friend.example:8443", false},
		{"https://friend.example.evil.example", false},
		{"https://friend.example/path", false},
		{"null", false},
		{"http://127.0.0.1:1", false},
	} {
		c, err := client.Dial(ctx, client.URL(ts.URL, "alpha"), client.Options{Origin: tc.origin})
		var de *client.DialError
		switch {
		case tc.ok && err != nil:
			t.Errorf("origin %q refused: %v", tc.origin, err)
		case !tc.ok && (!errors.As(err, &de) || de.Status != 403):
			t.Errorf("origin %q: got %v, want HTTP 403", tc.origin, err)
		}
		if c != nil {
			_ = c.Close()
		}
	}
}

func TestUnknownPostIs404BeforeUpgrade(t *testing.T) {
	ts := startServer(t, nil)
	for _, slug := range []string{"nope", "draft", "..", "%2e%2e", strings.Repeat("a", 101)} {
		_, err := client.Dial(context.Background(), client.URL(ts.URL, slug), client.Options{Origin: ts.URL})
		var de *client.DialError
		if !errors.As(err, &de) || de.Status != 404 {
			t.Errorf("slug %q: got %v, want HTTP 404", slug, err)
		}
	}
}

func TestChurnLeavesNothingBehind(t *testing.T) {
	ts := startServer(t, nil)
	settle := func() (int, int64) {
		var g int
		var a int64
		deadline := time.Now().Add(10 * time.Second)
		prev := -1
		for time.Now().Before(deadline) {
			runtime.GC()
			g, a = runtime.NumGoroutine(), ts.Presence.Stats().Actors
			if g == prev {
				break
			}
			prev = g
			time.Sleep(50 * time.Millisecond)
		}
		return g, a
	}
	watcher := ts.dial(t, "alpha")
	g0, a0 := settle()
	for i := range 500 {
		c := ts.dial(t, []string{"alpha", "beta"}[i%2])
		_ = c.Scroll(0.5)
		if i%3 == 0 {
			_ = c.Kill()
		} else {
			_ = c.Close()
		}
	}
	eventually(t, "connections to close", func() bool { return ts.Web.Connections() == 1 })
	eventually(t, "actors back to the start", func() bool { return ts.Presence.Stats().Actors == a0 })
	var g1 int
	deadline := time.Now().Add(10 * time.Second)
	for {
		g1, _ = settle()
		if g1 <= g0 || time.Now().After(deadline) {
			break
		}
	}
	if g1 > g0 {
		t.Errorf("goroutines: %d before 500 cycles, %d after", g0, g1)
	}
	t.Logf("goroutines %d → %d, actors %d → %d", g0, g1, a0, ts.Presence.Stats().Actors)
	waitGhosts(t, watcher)
}

func TestShutdownClosesWithGoingAway(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t, "alpha")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	start := time.Now()
	if err := ts.Web.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	assertClosed(t, c, websocket.CloseGoingAway, "shutting down")
	t.Logf("shutdown took %v", time.Since(start))
}

func TestCanonicalOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com":         "https://example.com",
		"HTTPS://EXAMPLE.com/":        "https://example.com",
		"https://example.com:443":     "https://example.com",
		"http://example.com:80":       "http://example.com",
		"http://example.com:443":      "http://example.com:443",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"http://[::1]:8080":           "http://[::1]:8080",
		"example.com":                 "",
		"ftp://example.com":           "",
		"https://":                    "",
		"https://user@example.com":    "",
		"https://example.com/a":       "",
		"https://example.com?q":       "",
		"https://example.com#f":       "",
		"https://example.com:99999":   "",
		"https://example.com:0":       "",
		"https://example.com:http":    "",
		"*":                           "",
		"null":                        "",
		"https://exa mple.com":        "",
		"javascript:alert(1)":         "",
		"https://example.com:443:443": "",
		"https://:443":                "",
		"http://:80":                  "",
		"https://:":                   "",
		"http://":                     "",
		"https://:0":                  "",
		"http://[]:80":                "",
		"http://[fe80::1%25eth0]:80":  "",
	} {
		got, err := web.CanonicalOrigin(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("CanonicalOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzCanonicalOrigin(f *testing.F) {
	for _, s := range []string{"https://example.com", "HTTP://A:80/", "http://[::1]:1", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := web.CanonicalOrigin(s)
		if err != nil {
			return
		}
		// Canonical means a fixed point.
		if again, err := web.CanonicalOrigin(o); err != nil || again != o {
			t.Errorf("%q → %q → %q, %v", s, o, again, err)
		}
	})
}

// TestJoinsAtTheTick: a room tells its readers of newcomers at its tick
// (with a long tick here), in one batch before the tick's moves. Whatever
// the timing, a reader never hears of a reader's moves or leave before its
// join, and a newcomer who leaves before the tick may never be shown at all.
func TestJoinsAtTheTick(t *testing.T) {
	ts := startServer(t, func(_ *web.Config, a *actors.Config) { a.Tick = time.Second })
	a := ts.dial(t, "alpha")
	b := ts.dial(t, "alpha")
	waitGhosts(t, a, id(b)+"@0")
	// The tick that told a of b just went; what follows waits for the next.
	c := ts.dial(t, "alpha")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	d := ts.dial(t, "alpha")
	if err := d.Scroll(0.25); err != nil {
		t.Fatal(err)
	}
	e := ts.dial(t, "alpha")
	waitGhosts(t, a, id(b)+"@0", id(d)+"@0.25", id(e)+"@0")
	waitGhosts(t, b, id(a)+"@0", id(d)+"@0.25", id(e)+"@0")
	waitGhosts(t, e, id(a)+"@0", id(b)+"@0", id(d)+"@0.25")
	for _, r := range []*client.Conn{a, b, d, e} {
		known := map[string]bool{}
		for _, f := range r.Frames() {
			switch f.Type {
			case "welcome":
				clear(known)
				for _, o := range f.Readers {
					known[o.ID] = true
				}
			case "join":
				if known[f.Reader.ID] {
					t.Errorf("%s: a second join of %s", id(r), f.Reader.ID)
				}
				known[f.Reader.ID] = true
			case "leave":
				if !known[f.ID] {
					t.Errorf("%s: leave of %s, never joined", id(r), f.ID)
				}
				delete(known, f.ID)
			case "moves":
				for _, m := range f.Moves {
					if !known[m.ID] {
						t.Errorf("%s: moves of %s before its join", id(r), m.ID)
					}
				}
			}
		}
	}
	// Usually (c left within the tick) a was never told of c at all.
	for _, f := range a.Frames() {
		if f.Type == "join" && f.Reader.ID == id(c) {
			t.Logf("c's join went out before it left (a slow machine)")
		}
	}
}
