package actors

import (
	"fmt"
	"testing"

	"github.com/readtag/readtag"
)

// Two nodes that pick the same names (here: the same share, one animal, as a
// node that joined later may) while partitioned end up, after the heal,
// with every name of the post unique and every screen agreeing on them,
// without a leave: the reader with the greater id of each pair is renamed
// by its own node, which welcomes it again and sends the others a join
// with the new name; a hidden reader always yields.
func TestNamesCollisionResolvedAfterHeal(t *testing.T) {
	p := startPair(t)
	same := allotment{colors: []int{0}, animals: []int{0}, lanes: 1}
	p.a.sys.names, p.b.sys.names = same, same // before any room: every name collides
	blackHolePair(t, p, true)
	// A hidden reader, whom a never sees, yields its name whatever its id.
	hidden := newClient()
	p.b.Join("post", readtag.Reader{ID: "000"}, true, hidden)
	eventually(t, "the hidden reader welcomed", hidden.welcomed)
	const each = 8
	var all []*client
	for i := range each {
		ca, _ := mustJoin(t, p.a, "post", fmt.Sprintf("a%02d", i))
		cb, _ := mustJoin(t, p.b, "post", fmt.Sprintf("b%02d", i))
		all = append(all, ca, cb)
	}
	if all[0].you.Name != hidden.you.Name || all[1].you.Name != all[2].you.Name {
		t.Fatalf("the set-up did not collide: a00 %q, hidden %q; b00 %q, a01 %q", all[0].you.Name, hidden.you.Name, all[1].you.Name, all[2].you.Name)
	}
	blackHolePair(t, p, false)
	eventually(t, "every name unique and the same on every screen", func() bool {
		names := map[string]string{} // id → its own name
		used := map[string]bool{}
		for _, c := range all {
			c.mu.Lock()
			id, name := c.you.ID, c.you.Name
			c.mu.Unlock()
			if used[name] {
				return false
			}
			names[id], used[name] = name, true
		}
		for _, c := range all {
			c.mu.Lock()
			agree := len(c.ghosts) == len(all)-1
			for id, g := range c.ghosts {
				agree = agree && g.Name == names[id]
			}
			c.mu.Unlock()
			if !agree {
				return false
			}
		}
		hidden.mu.Lock()
		defer hidden.mu.Unlock()
		return !used[hidden.you.Name] && len(hidden.ghosts) == len(all)
	})
	for _, c := range all {
		if n := c.leaves(); n != 0 {
			t.Errorf("%s saw %d leaves", c.you.ID, n)
		}
	}
}
