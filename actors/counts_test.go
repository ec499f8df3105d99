package actors

import (
	"maps"
	"testing"
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

// TestCountsRemoteNodes drives the table with peers' Counts as the tracker
// takes them: changes, a post dropping to none, a full set replacing what a
// node had, and a node that is gone.
func TestCountsRemoteNodes(t *testing.T) {
	c := newCounts()
	check := func(want map[string]int) {
		t.Helper()
		if _, got := c.snapshot(^uint64(0)); !maps.Equal(got, want) {
			t.Fatalf("counts %v, want %v", got, want)
		}
	}
	c.setLocal("a", 2)
	c.setRemote("n1", true, map[string]int{"a": 1, "b": 3})
	c.setRemote("n2", false, map[string]int{"a": 1})
	check(map[string]int{"a": 4, "b": 3})
	c.setRemote("n1", false, map[string]int{"b": 0, "c": 1}) // only changes
	check(map[string]int{"a": 4, "c": 1})
	c.setRemote("n2", true, map[string]int{"c": 2}) // all of n2's: "a" has none now
	check(map[string]int{"a": 3, "c": 3})
	v, _ := c.snapshot(0)
	c.setRemote("n2", false, map[string]int{"c": 2}) // no change: the version stays
	if v2, got := c.snapshot(v); got != nil || v2 != v {
		t.Fatalf("unchanged counts moved the version: %d → %d", v, v2)
	}
	c.dropNode("n1")
	c.setLocal("a", 0)
	check(map[string]int{"c": 2})
	c.dropNode("n2")
	c.dropNode("n3")
	check(map[string]int{})
}

func wantCounts(t testing.TB, p *Presence, want map[string]int) {
	t.Helper()
	eventually(t, "counts", func() bool {
		_, got := p.Counts(^uint64(0))
		return maps.Equal(got, want)
	})
}
