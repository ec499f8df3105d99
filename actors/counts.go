package actors

import (
	"maps"
	"sync"
)

// counts is how many readers each post has across the cluster, for the
// index page. Rooms set their own node's count when it changes; the tracker
// sets each peer's from the peer's Counts (at most one a second, also for
// posts that have no room here: a node gets a post's reader changes only if
// it has a room for it, see cluster_interest.go), or, for a peer older than
// Counts, from its deltas (cluster_oldcounts.go). It is a plain locked table
// rather than an actor: the web edge reads it once a second, and a read must
// not queue behind a busy room.
type counts struct {
	mu      sync.Mutex
	version uint64
	local   map[string]int            // post → this node's readers
	remote  map[string]map[string]int // node → post → that node's readers
	total   map[string]int            // post → local + remote, only posts with readers
}

func newCounts() *counts {
	return &counts{local: make(map[string]int), remote: make(map[string]map[string]int), total: make(map[string]int)}
}

// setLocal records that post has n of this node's readers.
func (c *counts) setLocal(post string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.local[post] == n {
		return
	}
	c.add(post, n-c.local[post])
	if n == 0 {
		delete(c.local, post)
	} else {
		c.local[post] = n
	}
}

// localCounts is a copy of this node's own counts, for the peers.
func (c *counts) localCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.local)
}

// setRemote records a peer's counts: posts' new counts (0: none left), or,
// with full, all of them (a post not listed has none).
func (c *counts) setRemote(node string, full bool, posts map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	had := c.remote[node]
	if had == nil {
		had = make(map[string]int)
		c.remote[node] = had
	}
	if full {
		for post, n := range had {
			if _, ok := posts[post]; !ok {
				c.add(post, -n)
				delete(had, post)
			}
		}
	}
	for post, n := range posts {
		if n == had[post] {
			continue
		}
		c.add(post, n-had[post])
		if n == 0 {
			delete(had, post)
		} else {
			had[post] = n
		}
	}
}

// dropNode forgets a peer's counts (it left, restarted or went silent).
func (c *counts) dropNode(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for post, n := range c.remote[node] {
		c.add(post, -n)
	}
	delete(c.remote, node)
}

func (c *counts) add(post string, d int) {
	if d == 0 {
		return
	}
	c.version++
	if n := c.total[post] + d; n > 0 {
		c.total[post] = n
	} else {
		delete(c.total, post)
	}
}

// snapshot returns the table's version and, if it differs from since, a copy
// of the counts of posts with readers (nil when unchanged).
func (c *counts) snapshot(since uint64) (uint64, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version == since {
		return since, nil
	}
	out := make(map[string]int, len(c.total))
	for post, n := range c.total {
		out[post] = n
	}
	return c.version, out
}

// Counts reports how many readers each post has right now, on every node of
// the cluster, for the index page. The version changes whenever a count
// does: pass the last one seen as since, and counts is nil while nothing
// changed, so that a once-a-second poll costs a lock and a compare. Posts
// without readers are left out.
func (p *Presence) Counts(since uint64) (version uint64, counts map[string]int) {
	return p.sys.counts.snapshot(since)
}
