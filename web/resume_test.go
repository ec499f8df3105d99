package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// closedWith waits for c to be closed by the server and reports its code.
func closedWith(t *testing.T, c *client.Conn) *websocket.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := c.WaitClosed(ctx)
	ce, ok := err.(*websocket.CloseError)
	if !ok {
		t.Fatalf("closed with %v, want a close frame", err)
	}
	return ce
}

// After a graceful restart on the same port, readers that bring their
// resume tokens are the same readers: same id, name and colour, and each
// sees the other under the id it had.
func TestResumeAfterRestart(t *testing.T) {
	ts := startServerAt(t, testutil.FreeAddr(t), nil)
	a, b := ts.dial(t, "alpha"), ts.dial(t, "alpha")
	tokA, tokB := a.Resume(), b.Resume()
	if tokA == "" || tokB == "" || tokA == tokB {
		t.Fatalf("welcome tokens %q and %q: want two distinct ones", tokA, tokB)
	}
	ts.Stop()
	for _, c := range []*client.Conn{a, b} {
		if ce := closedWith(t, c); ce.Code != websocket.CloseGoingAway || ce.Text != "server shutting down" {
			t.Errorf("closed at shutdown with %d %q, want 1001 \"server shutting down\"", ce.Code, ce.Text)
		}
	}
	ts = startServerAt(t, ts.Addr, nil)
	a2 := ts.dialWith(t, "alpha", client.Options{Resume: tokA})
	b2 := ts.dialWith(t, "alpha", client.Options{Resume: tokB})
	if a2.You().ID != a.You().ID || a2.You().Name != a.You().Name || a2.You().Color != a.You().Color {
		t.Errorf("a came back as %+v, was %+v", a2.You(), a.You())
	}
	if b2.You().ID != b.You().ID || b2.You().Name != b.You().Name || b2.You().Color != b.You().Color {
		t.Errorf("b came back as %+v, was %+v", b2.You(), b.You())
	}
	testutil.Eventually(t, "b to see a under its old id and name", func() bool {
		for _, g := range b2.Ghosts() {
			if g.ID == a.You().ID && g.Name == a.You().Name && g.Color == a.You().Color {
				return true
			}
		}
		return false
	})
	if a2.Resume() == "" {
		t.Error("no new token in the welcome after a resume")
	}
}

// A reader that comes back while its old socket is still open (half dead)
// takes its place over: the old socket is closed with 4409, the others see
// no leave and no join, only the same ghost moving on.
func TestResumeTakeover(t *testing.T) {
	ts := startServer(t, nil)
	a, b := ts.dial(t, "alpha"), ts.dial(t, "alpha")
	a2 := ts.dialWith(t, "alpha", client.Options{Resume: a.Resume()})
	if a2.You() != a.You() {
		t.Fatalf("the takeover is %+v, was %+v", a2.You(), a.You())
	}
	if gs := a2.Ghosts(); len(gs) != 1 || gs[0].ID != b.You().ID {
		t.Errorf("the takeover's welcome shows %+v, want b only", gs)
	}
	if ce := closedWith(t, a); ce.Code != 4409 {
		t.Errorf("the old socket closed with %d %q, want 4409", ce.Code, ce.Text)
	}
	if err := a2.Scroll(0.5); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "b to see a's ghost move on", func() bool {
		gs := b.Ghosts()
		return len(gs) == 1 && gs[0].ID == a.You().ID && gs[0].Position == 0.5
	})
	// A reader who comes later sees the reader once, under its id.
	c := ts.dial(t, "alpha")
	if gs := c.Ghosts(); len(gs) != 2 {
		t.Errorf("a newcomer sees %+v, want a and b", gs)
	}
	for _, f := range b.Frames() {
		if (f.Type == "leave" && f.ID == a.You().ID) || (f.Type == "join" && f.Reader != nil && f.Reader.ID == a.You().ID) {
			t.Errorf("b saw %s for the reader taken over: %s", f.Type, f.Raw)
		}
	}
}

// A token that does not check out is a fresh reader, never an error; the
// tokens of one post are worth nothing in another.
func TestResumeHostileTokenIsAFreshReader(t *testing.T) {
	ts := startServer(t, nil)
	a := ts.dial(t, "alpha")
	for name, tok := range map[string]string{
		"garbage":      "garbage",
		"forged":       strings.Replace(a.Resume(), ".", ".x", 1),
		"another post": "", // filled below
		"huge":         strings.Repeat("x", 2000),
	} {
		post := "alpha"
		if name == "another post" {
			post, tok = "beta", a.Resume()
		}
		c := ts.dialWith(t, post, client.Options{Resume: tok})
		if y := c.You(); y.ID == a.You().ID || y.Name == "" || y.Name == a.You().Name && post == "alpha" {
			t.Errorf("%s token: welcomed as %+v (a is %+v)", name, y, a.You())
		}
	}
	_, body := ts.get(t, "/metrics")
	if !strings.Contains(body, `readtag_resume_total{result="invalid"} 4`) {
		t.Errorf("want 4 invalid tokens counted:\n%s", grepLines(body, "readtag_resume_total"))
	}
}

// A live reader's token is renewed (a resume frame), so that the one a page
// holds when its connection drops is recent; the renewed one works.
func TestResumeTokenRenewed(t *testing.T) {
	ts := startServer(t, func(w *web.Config, _ *actors.Config) {
		w.PingInterval = 100 * time.Millisecond
		w.ResumeTTL = 2 * time.Second // renewed every 400 ms
	})
	a := ts.dial(t, "alpha")
	first := a.Resume()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	// Tokens count their expiry in seconds: the ones renewed within the
	// welcome's second are the welcome's.
	if err := a.Wait(ctx, func() bool { return a.Resume() != first }); err != nil {
		t.Fatalf("no new token: %v", err)
	}
	if _, _, err := a.WaitFrame(ctx, "resume", 0); err != nil {
		t.Fatalf("no resume frame: %v", err)
	}
	back := ts.dialWith(t, "alpha", client.Options{Resume: a.Resume()})
	if back.You() != a.You() {
		t.Errorf("the renewed token gave %+v, want %+v", back.You(), a.You())
	}
}

// On another node of a cluster (which shares the key), a token keeps the
// reader's name and colour when they are free there, under a new id: one
// id is never live on two nodes. While the reader is still on its first
// node, the name is taken there too, and the second gets another.
func TestResumeOnAnotherNode(t *testing.T) {
	nodes := startCluster(t, 2)
	watcher := nodes[0].dial(t, "alpha")
	a := nodes[0].dial(t, "alpha")
	tok := a.Resume()
	// Node b knows a (and so its name) once a reader there sees it.
	there := nodes[1].dial(t, "alpha")
	waitGhosts(t, there, id(watcher)+"@0", id(a)+"@0")

	twin := nodes[1].dialWith(t, "alpha", client.Options{Resume: tok})
	if twin.You().ID == a.You().ID || twin.You().Name == a.You().Name {
		t.Errorf("with a still on node a, node b gave %+v (a is %+v)", twin.You(), a.You())
	}
	_ = twin.Close()
	_ = a.Close()
	waitGhosts(t, watcher, id(there)+"@0")
	waitGhosts(t, there, id(watcher)+"@0") // node b has let a's name go

	moved := nodes[1].dialWith(t, "alpha", client.Options{Resume: tok})
	if y := moved.You(); y.ID == a.You().ID || y.Name != a.You().Name || y.Color != a.You().Color {
		t.Errorf("on node b the reader is %+v, want a new id with %s %s", y, a.You().Name, a.You().Color)
	}
	waitGhosts(t, watcher, id(there)+"@0", id(moved)+"@0")
}
