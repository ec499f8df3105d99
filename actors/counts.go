package actors

import "sync"

// counts is how many readers each post has across the cluster, for the
// index page. Rooms set their own node's count when it changes; the
// tracker's messages to rooms (see tracker.toRoom) carry every remote
// reader's arrival and departure, also for posts that have no room here.
// It is a plain locked table rather than an actor: the web edge reads it
// once a second, and a read must not queue behind a busy room.
type counts struct {
	mu      sync.Mutex
	version uint64
	local   map[string]int    // post → this node's readers
	remote  map[string]string // "node/id" → post, readers of other nodes
	total   map[string]int    // post → local + remote, only posts with readers
}

func newCounts() *counts {
	return &counts{local: make(map[string]int), remote: make(map[string]string), total: make(map[string]int)}
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

// remoteMsg accounts a message the tracker sends a post's room: a remote
// reader joining (perhaps again, or from another post) or leaving.
func (c *counts) remoteMsg(post string, msg any) {
	var key string
	joining := false
	switch m := msg.(type) {
	case remoteJoin:
		key, joining = m.reader.node+"/"+m.reader.ID, true
	case remoteLeave:
		key = m.node + "/" + m.id
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, had := c.remote[key]
	switch {
	case joining && had && old == post:
		return
	case joining:
		if had {
			c.add(old, -1)
		}
		c.remote[key] = post
		c.add(post, 1)
	case had && old == post:
		delete(c.remote, key)
		c.add(post, -1)
	}
}

func (c *counts) add(post string, d int) {
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
