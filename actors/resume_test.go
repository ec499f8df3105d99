package actors

import (
	"testing"

	"github.com/readtag/readtag"
)

// resumeJoin joins a reader who comes back with who's identity.
func resumeJoin(t testing.TB, p *Presence, slug string, who readtag.Reader, hidden bool) (*client, readtag.Session) {
	t.Helper()
	c := newClient()
	s := p.Join(slug, who, hidden, c)
	eventually(t, who.ID+" welcomed again", c.welcomed)
	return c, s
}

// A reader who comes back (after a restart: a fresh engine) keeps its
// name and colour when the name is free, and gets a fresh one when another
// reader has taken it meanwhile.
func TestResumeKeepsAFreeName(t *testing.T) {
	p, _ := newPresence(t, Config{})
	other, _ := mustJoin(t, p, "post", "other")
	taken := other.you
	want := readtag.Reader{ID: "back", Name: "Violet Quail", Color: palette[9]}
	if want.Name == taken.Name {
		want.Name = "Violet Yak"
	}
	c, _ := resumeJoin(t, p, "post", want, false)
	if c.you.ID != want.ID || c.you.Name != want.Name || c.you.Color != want.Color {
		t.Errorf("came back as %+v, want %+v", c.you, want)
	}
	d, _ := resumeJoin(t, p, "post", readtag.Reader{ID: "late", Name: taken.Name, Color: taken.Color}, false)
	if d.you.Name == taken.Name {
		t.Errorf("a second %q in the room", taken.Name)
	}
}

// A reader whose id is still in the room takes its place over: the old
// client is dropped with readtag.TakenOver, the others see no leave and
// the reader moves on under its id; the old connection's end changes
// nothing.
func TestTakeover(t *testing.T) {
	p, _ := newPresence(t, Config{})
	old, oldSess := mustJoin(t, p, "post", "a")
	b, _ := mustJoin(t, p, "post", "b")
	wantView(t, b, "a@0")
	again, sess := resumeJoin(t, p, "post", old.you, false)
	if again.you != old.you {
		t.Errorf("took over as %+v, was %+v", again.you, old.you)
	}
	eventually(t, "the old client dropped", func() bool {
		old.mu.Lock()
		defer old.mu.Unlock()
		return old.dropped == readtag.TakenOver
	})
	oldSess.Leave() // the old socket closes, as web does on the drop
	sess.Scroll(0.5)
	wantView(t, b, "a@0.5")
	// Another reader now joins: the room still has a, once.
	c, _ := mustJoin(t, p, "post", "c")
	wantView(t, c, "a@0.5", "b@0")
	if n := b.leaves(); n != 0 {
		t.Errorf("b saw %d leaves", n)
	}
}
