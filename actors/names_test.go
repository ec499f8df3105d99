package actors

import (
	"fmt"
	"strings"
	"testing"

	"github.com/readtag/readtag/actors/clusterpb"
)

// TestNamesWithoutCoordination lets every node of clusters of several sizes
// hand out names on its own, past every colour and animal it has: no name
// is ever handed out by two nodes that knew each other at start.
func TestNamesWithoutCoordination(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 12, 13, 30} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("node-%02d", (i*7)%n) // configured in any order
			}
			byName := map[string]string{}
			for _, node := range ids {
				var peers []Peer
				for _, p := range ids {
					if p != node {
						peers = append(peers, Peer{ID: p})
					}
				}
				a := allot(node, peers)
				if len(a.colors) == 0 {
					t.Fatalf("node %s of %d gets no colour", node, n)
				}
				var used [len(palette)]int
				taken := map[string]bool{}
				for range 12*len(animals) + 40 { // past every colour × animal of a single node
					color, name := a.pickIdentity(&used, taken)
					if taken[name] {
						t.Fatalf("node %s handed out %q twice", node, name)
					}
					if other, dup := byName[name]; dup {
						t.Fatalf("nodes %s and %s both hand out %q", other, node, name)
					}
					used[color]++
					taken[name] = true
					byName[name] = node
				}
			}
		})
	}
}

// TestColoursSpreadWithinNode: a single node hands out twelve distinct
// colours before it repeats one.
func TestColoursSpreadWithinNode(t *testing.T) {
	a := allot("local", nil)
	var used [len(palette)]int
	taken := map[string]bool{}
	for i := range 24 {
		color, name := a.pickIdentity(&used, taken)
		if used[color] != i/len(palette) {
			t.Fatalf("reader %d got %s, used %d times already", i, palette[color], used[color])
		}
		used[color]++
		taken[name] = true
	}
}

// TestColourLeastUsedInPost: a node picks the colour least used among all
// the readers it sees, its own share only among equals: a node whose
// colours all have readers of other nodes picks one that nobody uses.
func TestColourLeastUsedInPost(t *testing.T) {
	a := allot("b", []Peer{{ID: "a"}}) // b's share: the odd colours
	var used [len(palette)]int
	taken := map[string]bool{}
	for i := range palette {
		if a.ours(i) {
			used[i] = 1 // readers of a node that joined later, on b's colours
		}
	}
	for range len(palette) / 2 {
		color, name := a.pickIdentity(&used, taken)
		if a.ours(color) || used[color] != 0 {
			t.Fatalf("picked %s, used %d times, with colours nobody uses left", palette[color], used[color])
		}
		used[color]++
		taken[name] = true
	}
	color, _ := a.pickIdentity(&used, taken) // every colour used once: ours first
	if !a.ours(color) {
		t.Fatalf("all colours used once, picked %s, not one of ours", palette[color])
	}
}

// TestRemoteNamesChecked: a peer's reader with a name too long or not UTF-8
// is dropped; an old peer's reader without a name is kept.
func TestRemoteNamesChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Teal Otter", true},
		{"", true}, // from a node older than names
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false},
		{"bad \xff utf-8", false},
	} {
		r := &clusterpb.Reader{Id: "abc", Color: "#12a594", Name: tc.name, Position: 0.5}
		if got := validRemote("alpha", r); got != tc.ok {
			t.Errorf("name %q: valid = %v, want %v", tc.name, got, tc.ok)
		}
		if tc.ok && fromPB(pbReader(fromPB(r))).Name != tc.name {
			t.Errorf("name %q lost on the way through clusterpb", tc.name)
		}
	}
}

// While two readers hold one name (a collision not yet resolved), the name
// stays taken until both have left it.
func TestSharedNameStaysTaken(t *testing.T) {
	r := &room{names: make(map[string]bool)}
	r.takeName("Teal Otter")
	r.takeName("Teal Otter")
	r.dropName("Teal Otter")
	if !r.names["Teal Otter"] {
		t.Fatal("the name was freed while a reader still holds it")
	}
	r.dropName("Teal Otter")
	if r.names["Teal Otter"] || len(r.shared) != 0 {
		t.Fatalf("after both left: taken %v, shared %v", r.names["Teal Otter"], r.shared)
	}
}
