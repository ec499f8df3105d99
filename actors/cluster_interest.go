package actors

import (
	"maps"
	"slices"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/pagekey"
)

// Replication by interest: a node sends a post's joins, moves and leaves
// only to the peers that have a room for it (docs/cluster.md,
// "Replication"). Each node tells its peers which posts it cares about:
// the whole set with every SyncRequest, which every fault ends in (a new
// peer or incarnation, a gap in seq, a peer heard again after going quiet),
// and the changes in between as Interest messages, each add answered by a
// partial Snapshot of the post in the same ordered stream as the deltas
// that follow it. A lost add shows as a partial snapshot that does not
// come (a full sync after interestRetry); a lost remove as deltas for a
// post we do not care about (the remove goes again). The index's counts of
// every post come from Counts, at most one a second per peer.

// countsEvery is how often, at most, a node sends its peers its readers
// per post (only the posts whose count changed).
const countsEvery = time.Second

// interestRetry is how long a partial snapshot may take before we ask for a
// full sync instead, in heartbeats: a heartbeat gets a round trip on a
// healthy link many times over.
const interestRetry = 2

// interest is what the tracker knows of who cares about which post.
type interest struct {
	// out is each peer's stream: the seq of the last Deltas or Counts we
	// numbered for it.
	out map[string]uint64
	// wants is each peer's interest as its last SyncRequest and Interest
	// messages told it, for the incarnation that sent them.
	wants map[string]*peerWant
	// lingering are posts whose room stopped (since when): we keep caring
	// for PeerTimeout, so a reader who reloads the page costs no snapshot.
	lingering map[string]time.Time
	// waiting are posts whose new room waits for its first snapshot until
	// the peers answered our Interest (since when), so its first welcome
	// is complete.
	waiting map[string]time.Time
	// sentCounts are our counts as the peers were last told them.
	sentCounts map[string]int
}

type peerWant struct {
	incarnation uint64
	all         bool // an older node: it wants every post
	posts       map[string]bool
}

func (w *peerWant) has(post string) bool { return w.all || w.posts[post] }

func newInterest() interest {
	return interest{
		out:        make(map[string]uint64),
		wants:      make(map[string]*peerWant),
		lingering:  make(map[string]time.Time),
		waiting:    make(map[string]time.Time),
		sentCounts: make(map[string]int),
	}
}

// cares says whether we replicate post: it has a room here, or had one
// within the linger.
func (t *tracker) cares(post string) bool {
	if _, ok := t.rooms[post]; ok {
		return true
	}
	_, ok := t.lingering[post]
	return ok
}

func (t *tracker) caresList() []string {
	posts := slices.Collect(maps.Keys(t.rooms))
	for post := range t.lingering {
		posts = append(posts, post)
	}
	slices.Sort(posts)
	return posts
}

// accepts says whether a peer's delta for post is taken into its replica:
// not for a post we do not care about (then it missed our remove), nor for
// one whose partial snapshot is still to come (that snapshot covers it).
func (t *tracker) accepts(p *peerState, post string) bool {
	if !t.cares(post) {
		p.strays[post] = true
		return false
	}
	_, pending := p.pending[post]
	return !pending
}

// subscribe starts a room (roomSubscribe; had: the post had a room
// already): a post we already care about gets its snapshot at once, or
// when the one it waits for comes; a new one is announced to the peers
// first.
func (t *tracker) subscribe(c *actor.Context, post string, had bool) {
	if _, ok := t.waiting[post]; ok {
		return
	}
	if _, ok := t.lingering[post]; ok || had {
		delete(t.lingering, post)
		t.sendRoomSnapshot(c, post)
		return
	}
	now := time.Now()
	asked := false
	for node, p := range t.peers {
		p.pending[post] = now
		t.sendInterest(c, node, &clusterpb.Interest{Add: []string{post}})
		asked = true
	}
	if !asked {
		t.sendRoomSnapshot(c, post)
		return
	}
	t.waiting[post] = now
}

// unsubscribe notes that post's room stopped; the peers hear of it once
// the linger is over (forgetLingering).
func (t *tracker) unsubscribe(post string) {
	delete(t.waiting, post)
	t.lingering[post] = time.Now()
}

// forgetLingering stops caring about posts whose room stopped more than
// PeerTimeout ago: the peers stop sending their changes, and we drop our
// replica of them.
func (t *tracker) forgetLingering(c *actor.Context) {
	var gone []string
	for post, since := range t.lingering {
		if time.Since(since) > t.cfg.PeerTimeout {
			gone = append(gone, post)
			delete(t.lingering, post)
		}
	}
	if len(gone) == 0 {
		return
	}
	slices.Sort(gone)
	for node, p := range t.peers {
		for _, post := range gone {
			delete(p.pending, post)
		}
		t.dropPosts(p, gone)
		t.sendInterest(c, node, &clusterpb.Interest{Remove: gone})
	}
}

// dropPosts removes posts from a peer's replica. No room has them, and the
// index's counts come from Counts: nobody needs telling.
func (t *tracker) dropPosts(p *peerState, posts []string) {
	for id, e := range p.readers {
		if p.perPost[e.post] > 0 && slices.Contains(posts, e.post) {
			p.remove(id, e)
		}
	}
}

func (t *tracker) sendInterest(c *actor.Context, node string, in *clusterpb.Interest) {
	env := t.envelope()
	env.Body = &clusterpb.Envelope_Interest{Interest: in}
	t.sendTo(c, node, env)
	t.stats.interestSent.Add(1)
}

// retryInterest handles a synced peer's loose ends at a tick: an add whose
// partial snapshot has not come within interestRetry heartbeats (the add or
// its answer was lost) makes a full sync; deltas it sent for posts we do not
// care about make the remove go again.
func (t *tracker) retryInterest(c *actor.Context, node string, p *peerState, now time.Time) {
	for _, since := range p.pending {
		if now.Sub(since) >= interestRetry*t.cfg.Heartbeat {
			t.askSync(c, node)
			return
		}
	}
	var strays []string
	for post := range p.strays {
		if !t.cares(post) {
			strays = append(strays, post)
		}
	}
	clear(p.strays)
	if len(strays) > 0 {
		slices.Sort(strays)
		t.sendInterest(c, node, &clusterpb.Interest{Remove: strays})
	}
}

// releaseRooms sends waiting rooms their first snapshot once no peer owes
// one for the post, or after a heartbeat: a peer that has not answered by
// then is in trouble, and its readers come as joins when it does.
func (t *tracker) releaseRooms(c *actor.Context) {
	for post, since := range t.waiting {
		owed := false
		for _, p := range t.peers {
			if _, ok := p.pending[post]; ok && !p.quiet {
				owed = true
				break
			}
		}
		if owed && time.Since(since) < t.cfg.Heartbeat {
			continue
		}
		delete(t.waiting, post)
		t.sendRoomSnapshot(c, post)
	}
}

// sendRoomSnapshot gives post's room the other nodes' readers of it.
func (t *tracker) sendRoomSnapshot(c *actor.Context, post string) {
	sub, ok := t.rooms[post]
	if !ok {
		return
	}
	delete(t.waiting, post)
	sub.box.n.Add(1) // the room's first snapshot goes whatever its box holds
	c.Send(sub.pid, remoteSnapshot{readers: t.remoteReaders(post)})
}

// forgetRestarted drops what a peer's previous incarnation wanted: the new
// one tells us with its first SyncRequest.
func (t *tracker) forgetRestarted(env *clusterpb.Envelope) {
	if w, ok := t.wants[env.GetNode()]; ok && w.incarnation != env.GetIncarnation() {
		delete(t.wants, env.GetNode())
	}
}

// maxInterest caps the posts one peer may say it cares about: a node has a
// room only for a post with a reader, and no more readers than a peer may
// have here.
func (t *tracker) maxInterest() int { return t.cfg.MaxRemoteReaders }

// answerSync answers a SyncRequest with a snapshot of the posts it asks for
// (all, from an older node) and our full counts, and makes its posts what
// the peer wants from now on.
func (t *tracker) answerSync(c *actor.Context, env *clusterpb.Envelope, req *clusterpb.SyncRequest, send func(*clusterpb.Envelope) bool) {
	node := env.GetNode()
	w := &peerWant{incarnation: env.GetIncarnation(), all: !req.GetInterest(), posts: make(map[string]bool)}
	for _, post := range req.GetPosts() {
		if len(w.posts) >= t.maxInterest() {
			t.stats.interestRefused.Add(1)
			break
		}
		if pagekey.ValidRoomKey(post) {
			w.posts[post] = true
		}
	}
	t.wants[node] = w
	reply := t.envelope()
	reply.Body = &clusterpb.Envelope_Snapshot{Snapshot: t.snapshot(node, w)}
	if send(reply) {
		t.stats.snapshotsSent.Add(1)
	}
	full := t.envelope()
	t.out[node]++
	full.Body = &clusterpb.Envelope_Counts{Counts: pbCounts(t.out[node], true, t.sentCounts)}
	send(full)
}

// snapshot is our readers of the posts w wants, as of node's stream seq.
// With interest, every post asked for is listed, with readers or without,
// so the peer knows each was answered.
func (t *tracker) snapshot(node string, w *peerWant) *clusterpb.Snapshot {
	s := &clusterpb.Snapshot{Seq: t.out[node]}
	if w.all {
		for post := range t.byPost {
			s.Posts = append(s.Posts, t.postReaders(post))
		}
		return s
	}
	for post := range w.posts {
		s.Posts = append(s.Posts, t.postReaders(post))
	}
	return s
}

func (t *tracker) postReaders(post string) *clusterpb.PostReaders {
	pr := &clusterpb.PostReaders{Post: post}
	for id := range t.byPost[post] {
		pr.Readers = append(pr.Readers, pbReader(t.local[id].reader))
	}
	return pr
}

// peerInterest takes a peer's Interest: removes stop its deltas of those
// posts; adds start them, after a partial snapshot of the posts sent now,
// in the stream's order, so that the peer misses and doubles no reader.
// From a peer we never synced (wants unknown), it is ignored: its pending
// add then times out into a full sync, which carries its whole interest.
func (t *tracker) peerInterest(c *actor.Context, node string, in *clusterpb.Interest) {
	w, ok := t.wants[node]
	if !ok {
		return
	}
	for _, post := range in.GetRemove() {
		delete(w.posts, post)
	}
	var added []string
	for _, post := range in.GetAdd() {
		if !pagekey.ValidRoomKey(post) || slices.Contains(added, post) {
			continue
		}
		if !w.posts[post] && len(w.posts) >= t.maxInterest() {
			t.stats.interestRefused.Add(1)
			continue
		}
		w.posts[post] = true
		added = append(added, post)
	}
	if len(added) == 0 {
		return
	}
	s := &clusterpb.Snapshot{Seq: t.out[node], Partial: true}
	for _, post := range added {
		s.Posts = append(s.Posts, t.postReaders(post))
	}
	env := t.envelope()
	env.Body = &clusterpb.Envelope_Snapshot{Snapshot: s}
	t.sendTo(c, node, env)
}

// partialSnapshot takes a peer's answer to our Interest add: for each post
// we care about, its readers of the post become those listed. Also when we
// no longer wait for it: a full snapshot that came first (it clears the
// pending posts it lists, see tracker.receive) may have left the post out, and a
// partial snapshot, sent in the stream's order, is the truth at that point
// whenever it comes.
func (t *tracker) partialSnapshot(c *actor.Context, node string, p *peerState, s *clusterpb.Snapshot) {
	if !p.synced {
		return // the full snapshot we asked for covers every post we care about
	}
	if s.GetSeq() != p.seq {
		t.askSync(c, node) // we missed deltas before it
		return
	}
	next := maps.Clone(p.readers)
	took := false
	for _, pr := range s.GetPosts() {
		post := pr.GetPost()
		if !t.cares(post) {
			continue // not asked for, or no longer wanted
		}
		delete(p.pending, post)
		took = true
		for id, e := range next {
			if e.post == post {
				delete(next, id)
			}
		}
		perPost := 0
		for _, r := range pr.GetReaders() {
			if !validRemote(post, r) {
				continue
			}
			if _, dup := next[r.GetId()]; dup {
				continue // on another post too: the full sync that follows the peer's next gap sorts it out
			}
			if len(next) >= t.cfg.MaxRemoteReaders || perPost >= t.cfg.MaxPostReaders {
				t.stats.readersRefused.Add(1)
				continue
			}
			next[r.GetId()] = remoteEntry{post: post, reader: fromPB(r)}
			perPost++
		}
	}
	if !took {
		return
	}
	t.stats.partialSnapshots.Add(1)
	t.replace(c, node, p, next)
	t.releaseRooms(c)
}

// sendCounts tells the peers the posts whose count of our readers changed
// since the last time, numbered in each peer's stream.
func (t *tracker) sendCounts(c *actor.Context) {
	now := t.sys.counts.localCounts()
	changed := make(map[string]int)
	for post, n := range now {
		if t.sentCounts[post] != n {
			changed[post] = n
		}
	}
	for post := range t.sentCounts {
		if _, ok := now[post]; !ok {
			changed[post] = 0
		}
	}
	if len(changed) == 0 {
		return
	}
	t.sentCounts = now
	for node := range t.wants {
		t.out[node]++
		env := t.envelope()
		env.Body = &clusterpb.Envelope_Counts{Counts: pbCounts(t.out[node], false, changed)}
		t.sendTo(c, node, env)
	}
}

func pbCounts(seq uint64, full bool, counts map[string]int) *clusterpb.Counts {
	m := &clusterpb.Counts{Seq: seq, Full: full, Posts: make([]*clusterpb.PostCount, 0, len(counts))}
	for post, n := range counts {
		m.Posts = append(m.Posts, &clusterpb.PostCount{Post: post, Readers: uint32(n)})
	}
	return m
}

// takeCounts records a peer's counts for the index, within the caps on its
// readers (a hostile peer could claim millions otherwise).
func (t *tracker) takeCounts(node string, m *clusterpb.Counts) {
	t.stats.countsReceived.Add(1)
	posts := make(map[string]int, len(m.GetPosts()))
	for _, pc := range m.GetPosts() {
		if len(posts) >= t.cfg.MaxRemoteReaders {
			break
		}
		if pagekey.ValidRoomKey(pc.GetPost()) {
			posts[pc.GetPost()] = int(min(pc.GetReaders(), uint32(t.cfg.MaxPostReaders)))
		}
	}
	t.sys.counts.setRemote(node, m.GetFull(), posts)
}
