package actors

import (
	"maps"
	"testing"

	"github.com/readtag/readtag"
)

func TestCountsFollowJoinsAndLeaves(t *testing.T) {
	p, _ := newPresence(t, Config{})
	v0, _ := p.Counts(0)
	_, s1 := mustJoin(t, p, "hello", "r1")
	mustJoin(t, p, "hello", "r2")
	mustJoin(t, p, "other", "r3")
	wantCounts(t, p, map[string]int{"hello": 2, "other": 1})
	s1.Leave()
	wantCounts(t, p, map[string]int{"hello": 1, "other": 1})
	v, c := p.Counts(0)
	if v == v0 || c == nil {
		t.Fatalf("version %d after changes, was %d", v, v0)
	}
	if v2, c2 := p.Counts(v); v2 != v || c2 != nil {
		t.Errorf("unchanged table: got version %d and %v, want %d and nil", v2, c2, v)
	}
}

// TestCountsRemoteReaders drives the table with the tracker's messages as a
// peer would cause them: repeated joins, a reader switching posts, leaves
// from the wrong node and for unknown readers.
func TestCountsRemoteReaders(t *testing.T) {
	c := newCounts()
	join := func(node, id, post string) {
		c.remoteMsg(post, remoteJoin{reader: remoteReader{node: node, Reader: readtag.Reader{ID: id}}})
	}
	leave := func(node, id, post string) { c.remoteMsg(post, remoteLeave{node: node, id: id}) }
	c.setLocal("a", 2)
	join("n1", "x", "a")
	join("n1", "x", "a") // again: a snapshot after a missed delta
	join("n2", "x", "a") // same id, other node: another reader
	join("n1", "y", "b")
	check := func(want map[string]int) {
		t.Helper()
		if _, got := c.snapshot(^uint64(0)); !maps.Equal(got, want) {
			t.Fatalf("counts %v, want %v", got, want)
		}
	}
	check(map[string]int{"a": 4, "b": 1})
	join("n1", "y", "a") // moved to another post
	check(map[string]int{"a": 5})
	leave("n3", "x", "a") // unknown node
	leave("n1", "y", "b") // wrong post
	c.remoteMsg("a", moved{id: "x"})
	check(map[string]int{"a": 5})
	leave("n1", "x", "a")
	leave("n1", "y", "a")
	c.setLocal("a", 0)
	check(map[string]int{"a": 1})
	leave("n2", "x", "a")
	check(map[string]int{})
}

func wantCounts(t testing.TB, p *Presence, want map[string]int) {
	t.Helper()
	eventually(t, "counts", func() bool {
		_, got := p.Counts(^uint64(0))
		return maps.Equal(got, want)
	})
}
