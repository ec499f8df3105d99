package web_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// TestNamesUniqueAcrossNodes puts seven readers of one post on each of two
// nodes, each arriving once the ones before it are known on both: every
// reader has a name, no two share one, and no colour is used on both nodes
// (a room picks the colour least used in the post, its node's share first
// among equals; a reader arriving before another node's last reader has
// reached its room may take that node's colour, which the system allows,
// so the test lets each arrival be seen first). Every reader sees the same
// names the others were welcomed with.
func TestNamesUniqueAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2)
	var conns []*client.Conn
	node := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 14 {
		c := nodes[i%2].dial(t, "alpha")
		conns = append(conns, c)
		node[c.You().ID] = i % 2
		for _, o := range conns {
			if err := o.Wait(ctx, func() bool { return len(o.Ghosts()) == i }); err != nil {
				t.Fatalf("reader %d of 14 not seen by everyone: %s sees %v: %v", i+1, o.You().Name, o.Ghosts(), err)
			}
		}
	}
	want := map[string]client.Reader{}
	for _, c := range conns {
		want[c.You().ID] = c.You()
	}
	for _, c := range conns {
		err := c.Wait(ctx, func() bool {
			g := c.Ghosts()
			if len(g) != 13 {
				return false
			}
			for _, r := range g {
				if w := want[r.ID]; r.Name != w.Name || r.Color != w.Color {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("%s (%s) sees %v: %v", c.You().Name, c.You().ID, c.Ghosts(), err)
		}
	}
	names := map[string]string{}
	colors := [2]map[string]bool{{}, {}}
	for id, r := range want {
		if r.Name == "" {
			t.Errorf("reader %s has no name", id)
		}
		if other, dup := names[r.Name]; dup {
			t.Errorf("readers %s and %s are both called %q", id, other, r.Name)
		}
		names[r.Name] = id
		colors[node[id]][r.Color] = true
	}
	for c := range colors[0] {
		if colors[1][c] {
			t.Errorf("colour %s is used on both nodes", c)
		}
	}
	// Twelve hues split between two nodes: six each, all used by seven readers.
	if len(colors[0]) != 6 || len(colors[1]) != 6 {
		t.Errorf("node a uses %d colours and node b %d, want 6 each", len(colors[0]), len(colors[1]))
	}
	t.Logf("names: %v", slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	}))
}

// TestHiddenReader: a hidden reader sees the others and their moves, but
// nobody is told of it: not in a welcome, a join, a move or a count, and
// not on another node.
func TestHiddenReader(t *testing.T) {
	nodes := startCluster(t, 2)
	a := nodes[0].dial(t, "alpha")
	remote := nodes[1].dial(t, "alpha")
	waitGhosts(t, a, id(remote)+"@0")
	h := nodes[0].dialWith(t, "alpha", client.Options{Hidden: true})
	waitGhosts(t, h, id(a)+"@0", id(remote)+"@0")
	_ = h.Scroll(0.5)
	_ = a.Scroll(0.25)
	_ = remote.Scroll(0.75)
	waitGhosts(t, h, id(a)+"@0.25", id(remote)+"@0.75")

	// A reader who joins after the hidden one on each node: once the others
	// see it (and its move), anything about the hidden reader, sent before
	// it, would have arrived too (frames of one room, and deltas of one
	// node, arrive in order).
	late := nodes[0].dial(t, "alpha")
	if len(late.Frames()[0].Readers) != 2 {
		t.Errorf("late welcome lists %d readers, want 2 (the hidden one is not shown): %s", len(late.Frames()[0].Readers), late.Frames()[0].Raw)
	}
	_ = late.Scroll(0.9)
	waitGhosts(t, a, id(remote)+"@0.75", id(late)+"@0.9")
	waitGhosts(t, remote, id(a)+"@0.25", id(late)+"@0.9")
	for _, c := range []*client.Conn{a, remote, late} {
		for _, f := range c.Frames() {
			if containsID(f, id(h)) {
				t.Errorf("%s was told about the hidden reader: %s", id(c), f.Raw)
			}
		}
	}
	waitGhosts(t, h, id(a)+"@0.25", id(remote)+"@0.75", id(late)+"@0.9")

	// Leaving is silent too: late leaves after h, and a hears only of late.
	_ = h.Close()
	_ = late.Close()
	waitGhosts(t, a, id(remote)+"@0.75")
	for _, f := range a.Frames() {
		if containsID(f, id(h)) {
			t.Errorf("a was told about the hidden reader leaving: %s", f.Raw)
		}
	}
}

func containsID(f client.Frame, id string) bool {
	if f.ID == id || (f.Reader != nil && f.Reader.ID == id) {
		return true
	}
	for _, r := range append(f.Readers, f.Join...) {
		if r.ID == id {
			return true
		}
	}
	for _, m := range f.Moves {
		if m.ID == id {
			return true
		}
	}
	return slices.Contains(f.Leave, id)
}

// TestHiddenReaderInCrowd: on a crowded post a hidden reader is neither
// shown nor counted in the others' totals and bands, but counts itself.
func TestHiddenReaderInCrowd(t *testing.T) {
	ts := startServer(t, func(_ *web.Config, a *actors.Config) { a.CrowdThreshold = 4; a.CrowdVisible = 2 })
	var conns []*client.Conn
	for range 4 {
		conns = append(conns, ts.dial(t, "alpha"))
	}
	h := ts.dialWith(t, "alpha", client.Options{Hidden: true})
	_ = h.Scroll(0.5)
	for _, c := range conns {
		_ = c.Scroll(0.5)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum := func(b []int) (n int) {
		for _, x := range b {
			n += x
		}
		return n
	}
	for _, c := range append(conns, h) {
		err := c.Wait(ctx, func() bool {
			total, bands := c.Crowd()
			return total == 4+btoi(c == h) && sum(bands) == 4 && bands[25] == 4
		})
		if err != nil {
			total, bands := c.Crowd()
			t.Fatalf("%s: total %d, bands %v: %v", id(c), total, bands, err)
		}
	}
	for _, c := range conns {
		for _, f := range c.Frames() {
			if containsID(f, id(h)) {
				t.Errorf("%s was shown the hidden reader: %s", id(c), f.Raw)
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestHiddenParameter(t *testing.T) {
	ts := startServer(t, nil)
	for _, v := range []string{"yes", "2", "%00", "tru"} {
		_, err := client.Dial(context.Background(), client.URL(ts.URL, "alpha")+"?hidden="+v, client.Options{Origin: ts.URL})
		var de *client.DialError
		if !errors.As(err, &de) || de.Status != 400 {
			t.Errorf("hidden=%s: got %v, want HTTP 400", v, err)
		}
	}
	status, body := ts.get(t, "/ws/posts/alpha?hidden=maybe")
	if status != 400 || !strings.Contains(body, "must be 1 or 0") {
		t.Errorf("plain GET with a bad hidden: %d %q", status, body)
	}
	for _, v := range []string{"0", "false", "1", "true"} {
		c, err := client.Dial(context.Background(), client.URL(ts.URL, "alpha")+"?hidden="+v, client.Options{Origin: ts.URL})
		if err != nil {
			t.Errorf("hidden=%s refused: %v", v, err)
			continue
		}
		_ = c.Close()
	}
}

// TestPostSaysWhatIsShared: every post says, in its small print, what other
// readers see of you, and has the place where the script puts the count and
// the Hide me switch (TestBrowserHideMe tests the switch itself).
func TestPostSaysWhatIsShared(t *testing.T) {
	ts := startServer(t, nil)
	status, body := ts.get(t, "/posts/alpha")
	for _, want := range []string{
		`class="small-print"`, "coloured tag with a made-up name", "That is all that is shared",
		`id="presence-slot"`, `data-counter="#presence-slot"`,
	} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("post page (%d) lacks %q", status, want)
		}
	}
}
