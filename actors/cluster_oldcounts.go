package actors

import "github.com/readtag/readtag/actors/clusterpb"

// An older peer's counts. A node older than interest replication (its
// SyncRequest asks for every post) never sends Counts, but it sends every
// peer a snapshot of all its readers and every post's joins and leaves. The
// tracker counts that peer's readers per post from them, for every post
// (also those with no room here, whose deltas the replica ignores), and
// sets them in the counts table as if they had come as Counts, so that its
// readers are on the index during a rolling deploy. They go with the peer's
// readers (replace: leave, expiry, new incarnation) and stop when the peer
// sends Counts (upgraded: a new incarnation, whose SyncRequest has
// interest).

// oldCounts is an older peer's readers, by id, and how many each post has.
type oldCounts struct {
	posts   map[string]string // reader id → post
	perPost map[string]int
}

// olderPeer says whether the peer's current incarnation asked us for every
// post (a SyncRequest without interest).
func (t *tracker) olderPeer(node string, p *peerState) bool {
	w, ok := t.wants[node]
	return ok && w.all && w.incarnation == p.incarnation
}

// countOldSnapshot starts an older peer's counts from its full snapshot;
// for any other peer it stops them.
func (t *tracker) countOldSnapshot(node string, p *peerState, s *clusterpb.Snapshot) {
	if !t.olderPeer(node, p) {
		t.stopOldCounts(node, p)
		return
	}
	p.old = &oldCounts{posts: make(map[string]string), perPost: make(map[string]int)}
	for _, pr := range s.GetPosts() {
		for _, r := range pr.GetReaders() {
			t.oldJoin(p.old, pr.GetPost(), r, nil)
		}
	}
	t.sys.counts.setRemote(node, true, p.old.perPost)
}

// countOldDeltas follows an older peer's joins and leaves (in seq order,
// after its snapshot).
func (t *tracker) countOldDeltas(node string, p *peerState, deltas []*clusterpb.Delta) {
	if p.old == nil {
		return
	}
	changed := make(map[string]int)
	for _, d := range deltas {
		switch d.GetKind() {
		case clusterpb.Delta_KIND_JOIN:
			t.oldJoin(p.old, d.GetPost(), d.GetReader(), changed)
		case clusterpb.Delta_KIND_LEAVE:
			p.old.leave(d.GetReader().GetId(), changed)
		}
	}
	if len(changed) == 0 {
		return // moves only: the common case
	}
	for post := range changed {
		changed[post] = p.old.perPost[post]
	}
	t.sys.counts.setRemote(node, false, changed)
}

// oldJoin counts a reader on post (moving it off another post), within the
// caps on a peer's readers (admits). A reader refused on a post we have a
// room for is counted refused by the replica already.
func (t *tracker) oldJoin(o *oldCounts, post string, r *clusterpb.Reader, changed map[string]int) {
	if !validRemote(post, r) || o.posts[r.GetId()] == post {
		return
	}
	o.leave(r.GetId(), changed)
	if len(o.posts) >= t.cfg.MaxRemoteReaders || o.perPost[post] >= t.cfg.MaxPostReaders {
		if !t.cares(post) {
			t.stats.readersRefused.Add(1)
		}
		return
	}
	o.posts[r.GetId()] = post
	o.perPost[post]++
	if changed != nil {
		changed[post] = 0
	}
}

func (o *oldCounts) leave(id string, changed map[string]int) {
	post, ok := o.posts[id]
	if !ok {
		return
	}
	delete(o.posts, id)
	if o.perPost[post]--; o.perPost[post] == 0 {
		delete(o.perPost, post)
	}
	if changed != nil {
		changed[post] = 0
	}
}

// stopOldCounts drops the counts derived for a peer that turns out not to
// be older (it sent Counts): its own Counts take their place.
func (t *tracker) stopOldCounts(node string, p *peerState) {
	if p.old != nil {
		p.old = nil
		t.sys.counts.dropNode(node)
	}
}
