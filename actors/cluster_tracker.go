package actors

import (
	"time"
	"unicode/utf8"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/pagekey"
)

// Messages between a node's rooms and its tracker.
type (
	// localJoin, localMoves and localLeave report this node's own readers.
	localJoin struct {
		post   string
		reader readtag.Reader
	}
	localMoves struct {
		post  string
		moves []readtag.Move
	}
	localLeave struct {
		post string
		id   string
	}
	// roomSubscribe asks for the remote readers of a post, now (answered
	// with remoteSnapshot) and as they change; roomUnsubscribe stops that.
	// box counts what the tracker has queued for the room (roomInbox).
	roomSubscribe struct {
		post string
		room *actor.PID
		box  *mailbox
	}
	roomUnsubscribe struct {
		post string
		room *actor.PID
	}
	// remoteSnapshot, remoteJoin, remoteMoves and remoteLeave tell a room
	// about readers on other nodes. A snapshot is all of them: the room
	// drops the other nodes' readers it does not list.
	remoteSnapshot struct{ readers []remoteReader }
	remoteJoin     struct{ reader remoteReader }
	remoteMoves    struct {
		node  string
		moves []readtag.Move
	}
	remoteLeave struct {
		node string
		id   string
	}
	// syncTick makes the tracker heartbeat and retry pending syncs;
	// countsTick makes it send its Counts (countsEvery).
	syncTick   struct{}
	countsTick struct{}
)

// movesEvery is how often, at most, a room hands its own readers' moves to
// the tracker, which sends them to the peers at once: a move then reaches
// a peer's room within about this (plus the network) and waits only for
// that room's tick, instead of waiting for our room's tick (50 ms) first.
// Not per move: every message to an idle actor starts a goroutine in
// Hollywood, and a Deltas per move would cost a write and a wake-up on
// every peer.
const movesEvery = 10 * time.Millisecond

// roomInbox bounds the other nodes' reader changes the tracker has queued
// for one room: past it the tracker stops sending that room changes and,
// once the room has caught up, sends it a snapshot of the post instead, so
// a peer's flood cannot grow a room's inbox (Hollywood's are unbounded) or
// turn into dead letters by the million when the room has stopped.
// peerInbox bounds a peer's messages waiting for the tracker or the
// provider (inboundConfig.Inbox). A tracker Envelope batches a room's moves
// of movesEvery: neither is near its bound in honest traffic.
const (
	roomInbox = 4096
	peerInbox = 1024
)

type remoteReader struct {
	node string
	readtag.Reader
}

func (m localJoin) traceInfo() (string, string, []any) { return m.reader.ID, m.post, nil }
func (m localMoves) traceInfo() (string, string, []any) {
	return "", m.post, []any{"moves", len(m.moves)}
}
func (m localLeave) traceInfo() (string, string, []any) { return m.id, m.post, nil }
func (m roomSubscribe) traceInfo() (string, string, []any) {
	return "", m.post, nil
}
func (m roomUnsubscribe) traceInfo() (string, string, []any) { return "", m.post, nil }
func (m remoteSnapshot) traceInfo() (string, string, []any) {
	return "", "", []any{"readers", len(m.readers)}
}
func (m remoteJoin) traceInfo() (string, string, []any) {
	return m.reader.ID, "", []any{"node", m.reader.node, "position", m.reader.Position}
}
func (m remoteMoves) traceInfo() (string, string, []any) {
	return "", "", []any{"node", m.node, "moves", len(m.moves), "readers", moveIDs(m.moves)}
}
func (m remoteLeave) traceInfo() (string, string, []any) { return m.id, "", []any{"node", m.node} }

// moveIDs lists up to eight reader ids, so one reader's life can be grepped
// across nodes too.
func moveIDs(moves []readtag.Move) []string {
	ids := make([]string, 0, min(len(moves), 8))
	for _, m := range moves[:min(len(moves), 8)] {
		ids = append(ids, m.ID)
	}
	return ids
}

// tracker replicates presence between nodes, like Phoenix's Tracker: every
// node has its own rooms, and its tracker sends its own readers' changes to
// the trackers of the peers that have a room for the post (interest,
// cluster_interest.go) and applies theirs to its rooms. No node owns a post,
// so losing one loses only its readers. Messages between trackers are one
// proto type (clusterpb.Envelope): deltas and counts in seq order (one
// stream per peer), heartbeats carrying the stream's last seq, and a snapshot
// on request whenever a peer is new, restarted (new incarnation), missed a
// delta, or went quiet. Every change a peer wants is numbered in its stream,
// whether or not it is reachable, so a heartbeat's seq always tells a peer
// whether it missed something. A peer that leaves the membership takes its readers with
// it, and so does one whose tracker is silent for the failure timeout (the
// tracker does not rely on the membership alone for that).
type tracker struct {
	sys   *system
	node  string
	links *links
	cfg   ClusterConfig
	stats *clusterStats

	local  map[string]localEntry          // our readers, by id
	byPost map[string]map[string]struct{} // our readers' ids, by post
	peers  map[string]*peerState          // by node id, members only
	rooms  map[string]roomSub             // subscribed rooms, by post
	stale  map[string]bool                // posts whose room missed changes (roomInbox): a snapshot is due
	interest
	// answered is when each configured peer last got a snapshot (mayAnswer).
	answered map[string]time.Time
	repeat   actor.SendRepeater
	counting actor.SendRepeater
	stall    stallWatch // cluster_stall.go
}

type roomSub struct {
	pid *actor.PID
	box *mailbox
}

type localEntry struct {
	post   string
	reader readtag.Reader
}

type peerState struct {
	incarnation uint64
	seq         uint64
	synced      bool
	asked       time.Time // last SyncRequest
	heard       time.Time // last message from its tracker
	quiet       bool      // expired for silence: re-sync when heard again
	readers     map[string]remoteEntry
	perPost     map[string]int // readers by post, for ClusterConfig.MaxPostReaders
	// pending are the posts we told it we care about whose partial
	// snapshot has not come (since when): its deltas for them are ignored.
	pending map[string]time.Time
	// strays are posts we do not care about that it sent deltas for: it
	// missed our Interest remove, which goes again at the next tick.
	strays map[string]bool
	// old counts the readers of a peer older than interest, for the index
	// (cluster_oldcounts.go); nil for any other peer.
	old *oldCounts
}

// admits says whether the peer may add a reader on post: within
// ClusterConfig.MaxRemoteReaders and MaxPostReaders. Beyond them the reader
// is not created and only counted; the peer is told nothing (it could
// probe the caps otherwise), and its moves and leave for it are ignored as
// for any reader we do not know.
func (t *tracker) admits(p *peerState, post string) bool {
	if len(p.readers) < t.cfg.MaxRemoteReaders && p.perPost[post] < t.cfg.MaxPostReaders {
		return true
	}
	t.stats.readersRefused.Add(1)
	return false
}

func (p *peerState) add(id string, e remoteEntry) {
	if p.perPost == nil {
		p.perPost = make(map[string]int)
	}
	p.readers[id] = e
	p.perPost[e.post]++
}

func (p *peerState) remove(id string, e remoteEntry) {
	delete(p.readers, id)
	if p.perPost[e.post]--; p.perPost[e.post] <= 0 {
		delete(p.perPost, e.post)
	}
}

type remoteEntry struct {
	post   string
	reader readtag.Reader
}

func newTracker(sys *system, node string, l *links, cfg ClusterConfig, stats *clusterStats) actor.Producer {
	return func() actor.Receiver {
		return &tracker{
			sys: sys, node: node, links: l, cfg: cfg, stats: stats,
			local:    make(map[string]localEntry),
			byPost:   make(map[string]map[string]struct{}),
			interest: newInterest(),
			peers:    make(map[string]*peerState),
			rooms:    make(map[string]roomSub),
			stale:    make(map[string]bool),
			answered: make(map[string]time.Time),
			stall:    newStallWatch(cfg),
		}
	}
}

func (t *tracker) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		c.Engine().Subscribe(c.PID())
		t.repeat = c.Engine().SendRepeat(c.PID(), syncTick{}, t.cfg.Heartbeat)
		t.counting = c.Engine().SendRepeat(c.PID(), countsTick{}, countsEvery)
	case actor.Stopped:
		t.repeat.Stop()
		t.counting.Stop()
		c.Engine().Unsubscribe(c.PID())

	case localJoin:
		if old, ok := t.local[msg.reader.ID]; ok {
			t.unindex(old.post, msg.reader.ID)
		}
		t.local[msg.reader.ID] = localEntry{post: msg.post, reader: msg.reader}
		if t.byPost[msg.post] == nil {
			t.byPost[msg.post] = make(map[string]struct{})
		}
		t.byPost[msg.post][msg.reader.ID] = struct{}{}
		t.broadcast(c, msg.post, &clusterpb.Delta{Kind: clusterpb.Delta_KIND_JOIN, Post: msg.post, Reader: pbReader(msg.reader)})
	case localMoves:
		deltas := make([]*clusterpb.Delta, 0, len(msg.moves))
		for _, m := range msg.moves {
			e, ok := t.local[m.ID]
			if !ok {
				continue
			}
			e.reader.Position = m.Position
			t.local[m.ID] = e
			deltas = append(deltas, &clusterpb.Delta{Kind: clusterpb.Delta_KIND_MOVE, Post: msg.post, Reader: &clusterpb.Reader{Id: m.ID, Position: m.Position}})
		}
		t.broadcast(c, msg.post, deltas...)
	case fromPeer:
		msg.box.done()
		if env, ok := msg.msg.(*clusterpb.Envelope); ok {
			t.receive(c, env)
		}
	case localLeave:
		if old, ok := t.local[msg.id]; ok {
			t.unindex(old.post, msg.id)
		}
		delete(t.local, msg.id)
		t.broadcast(c, msg.post, &clusterpb.Delta{Kind: clusterpb.Delta_KIND_LEAVE, Post: msg.post, Reader: &clusterpb.Reader{Id: msg.id}})

	case roomSubscribe:
		sub := roomSub{pid: msg.room, box: msg.box}
		if sub.box == nil {
			sub.box = &mailbox{max: roomInbox}
		}
		_, had := t.rooms[msg.post]
		t.rooms[msg.post] = sub
		delete(t.stale, msg.post)
		t.subscribe(c, msg.post, had)
	case roomUnsubscribe:
		if sub, ok := t.rooms[msg.post]; ok && sub.pid.Equals(msg.room) {
			delete(t.rooms, msg.post)
			delete(t.stale, msg.post)
			t.unsubscribe(msg.post)
		}

	case cluster.MemberJoinEvent:
		if msg.Member.ID == t.node {
			return
		}
		t.peers[msg.Member.ID] = newPeerState()
		t.askSync(c, msg.Member.ID)
	case cluster.MemberLeaveEvent:
		if p, ok := t.peers[msg.Member.ID]; ok {
			t.replace(c, msg.Member.ID, p, nil)
			delete(t.peers, msg.Member.ID)
		}
	case syncTick:
		t.tick(c)
	case countsTick:
		t.sendCounts(c)
	case linkUp:
		// What was in flight on the old connection may be lost: a heartbeat
		// now lets the peer compare seqs at once.
		if _, ok := t.peers[msg.node]; ok {
			t.heartbeat(c, msg.node)
		}
	case *clusterpb.Envelope:
		t.receive(c, msg)
	}
}

// broadcast numbers our deltas of post in the stream of every peer that
// wants the post, and sends them to those that are members. The number goes
// up even when the peer is not reachable: when it comes back it sees from
// our heartbeat's seq that it missed something.
func (t *tracker) broadcast(c *actor.Context, post string, deltas ...*clusterpb.Delta) {
	if len(deltas) == 0 {
		return
	}
	for node, w := range t.wants {
		if !w.has(post) {
			continue
		}
		t.out[node]++
		env := t.envelope()
		env.Body = &clusterpb.Envelope_Deltas{Deltas: &clusterpb.Deltas{Seq: t.out[node], Deltas: deltas}}
		t.sendTo(c, node, env)
	}
}

// unindex drops a reader of ours from byPost.
func (t *tracker) unindex(post, id string) {
	if ids := t.byPost[post]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(t.byPost, post)
		}
	}
}

func newPeerState() *peerState {
	return &peerState{readers: make(map[string]remoteEntry), perPost: make(map[string]int), pending: make(map[string]time.Time), strays: make(map[string]bool), heard: time.Now()}
}

// envelope starts a message to a peer; the caller sets its Body.
func (t *tracker) envelope() *clusterpb.Envelope {
	return &clusterpb.Envelope{Node: t.node, Incarnation: t.sys.incarnation, Version: protocolVersion}
}

func (t *tracker) sendTo(c *actor.Context, node string, env *clusterpb.Envelope) {
	if _, ok := t.peers[node]; ok {
		t.links.send(node, kindTracker, c.PID(), env)
	}
}

// askSync asks a peer for a snapshot; its deltas are ignored until it comes.
// A request already in flight for less than half a heartbeat is not sent
// again: a peer that provokes requests (gaps, wrong seqs) then gets at
// most a few a second, and with them the right to send as many snapshots.
func (t *tracker) askSync(c *actor.Context, node string) {
	p := t.peers[node]
	if !p.synced && !p.asked.IsZero() && time.Since(p.asked) < t.cfg.Heartbeat/2 {
		return
	}
	p.synced = false
	p.asked = time.Now()
	t.stats.resyncs.Add(1)
	env := t.envelope()
	env.Body = &clusterpb.Envelope_SyncRequest{SyncRequest: &clusterpb.SyncRequest{Interest: true, Posts: t.caresList()}}
	t.sendTo(c, node, env)
}

// tick heartbeats our seq to every peer, expires the replicas of peers whose
// tracker went quiet, and asks again for snapshots that have not come.
func (t *tracker) tick(c *actor.Context) {
	t.resyncRooms(c)
	t.forgetLingering(c)
	t.releaseRooms(c)
	t.dropForgotten()
	now := time.Now()
	if gap, ok := t.stall.tick(now); ok {
		t.sys.log.Info("cluster tracker was stalled: no replica expires before the grace is over", "node", t.node, "stalled_for", gap.Round(time.Millisecond).String())
	}
	for node, p := range t.peers {
		t.heartbeat(c, node)
		if !p.quiet && now.Sub(p.heard) > t.cfg.PeerTimeout && !t.stall.lenient(now) {
			t.sys.log.Info("cluster replica expired: the peer's tracker is silent", "node", t.node, "peer", node, "readers", len(p.readers), "silent_for", now.Sub(p.heard).Round(time.Millisecond).String())
			t.stats.replicaExpiries.Add(1)
			t.replace(c, node, p, nil)
			p.quiet, p.synced = true, false
			continue
		}
		if !p.quiet && !p.synced && now.Sub(p.asked) >= 2*t.cfg.Heartbeat {
			t.askSync(c, node)
		}
		if !p.quiet && p.synced {
			t.retryInterest(c, node, p, now)
		}
	}
}

func (t *tracker) heartbeat(c *actor.Context, node string) {
	hb := t.envelope()
	hb.Body = &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{Seq: t.out[node]}}
	t.sendTo(c, node, hb)
}

func (t *tracker) receive(c *actor.Context, env *clusterpb.Envelope) {
	if !t.sys.incarnations.admits(env.GetNode(), env.GetIncarnation()) {
		return // not the process the provider takes under that id (cluster_duplicate.go)
	}
	t.forgetRestarted(env)
	p, ok := t.peers[env.GetNode()]
	if !ok {
		// Not (yet) a member here, though it may already count us as one:
		// answer a configured peer's sync request so it need not wait for
		// our membership to catch up. Its own state comes after it joins.
		if req, isReq := env.GetBody().(*clusterpb.Envelope_SyncRequest); isReq && t.mayAnswer(env.GetNode()) {
			t.answerSync(c, env, req.SyncRequest, func(m *clusterpb.Envelope) bool {
				return t.links.send(env.GetNode(), kindTracker, c.PID(), m)
			})
		}
		return
	}
	p.heard = time.Now()
	if p.quiet {
		// Heard again after its replica expired: whatever comes, start
		// from a snapshot.
		p.quiet = false
		t.askSync(c, env.GetNode())
	}
	switch {
	case p.incarnation == 0:
		p.incarnation = env.GetIncarnation() // first contact; a sync is already asked for
	case env.GetIncarnation() != p.incarnation:
		// The node restarted between two heartbeats: what we had is void.
		t.replace(c, env.GetNode(), p, nil)
		clear(p.pending)
		p.incarnation = env.GetIncarnation()
		p.synced = false // its snapshot, if this is one, is taken below
		if _, isSnap := env.GetBody().(*clusterpb.Envelope_Snapshot); !isSnap {
			t.askSync(c, env.GetNode())
		}
	}
	switch b := env.GetBody().(type) {
	case *clusterpb.Envelope_SyncRequest:
		if !t.mayAnswer(env.GetNode()) {
			return
		}
		t.answerSync(c, env, b.SyncRequest, func(m *clusterpb.Envelope) bool {
			t.sendTo(c, env.GetNode(), m)
			return true
		})
		if p.synced && p.old == nil && t.olderPeer(env.GetNode(), p) {
			t.askSync(c, env.GetNode()) // its snapshot came first: its counts start from the next one
		}
	case *clusterpb.Envelope_Interest:
		t.peerInterest(c, env.GetNode(), b.Interest)
	case *clusterpb.Envelope_Counts:
		if !p.synced {
			return // the snapshot we asked for comes with full counts
		}
		if b.Counts.GetSeq() <= p.seq {
			return // a copy, through a relay or directly (cluster_relay.go), or one the snapshot covers
		}
		if b.Counts.GetSeq() != p.seq+1 {
			t.askSync(c, env.GetNode())
			return
		}
		p.seq = b.Counts.GetSeq()
		t.stopOldCounts(env.GetNode(), p)
		t.takeCounts(env.GetNode(), b.Counts)
	case *clusterpb.Envelope_Snapshot:
		if b.Snapshot.GetPartial() {
			t.partialSnapshot(c, env.GetNode(), p, b.Snapshot)
			return
		}
		if p.synced {
			// Not asked for (or a second answer to a request sent twice):
			// a snapshot costs a pass over every reader of the peer, so a
			// peer gets to send one only when we ask.
			return
		}
		t.stats.snapshotsReceived.Add(1)
		// Truncated to the caps (admits): what is past them is not kept.
		// It answers a request that listed every post we cared about when
		// we sent it, and lists each of them, with readers or without: those
		// posts await no partial snapshot any more (a later one is still
		// taken). A post whose room started after that request still waits
		// for its own (our Interest add may have reached the peer before it
		// counted us up, and been ignored: then retryInterest asks for a
		// full sync that lists it). A node older than interest lists only
		// posts with readers, and sends every post's deltas anyway: nothing
		// is awaited from it.
		if t.olderPeer(env.GetNode(), p) {
			clear(p.pending)
		}
		for _, pr := range b.Snapshot.GetPosts() {
			delete(p.pending, pr.GetPost())
		}
		next := &peerState{readers: make(map[string]remoteEntry), perPost: make(map[string]int)}
		for _, pr := range b.Snapshot.GetPosts() {
			if !t.cares(pr.GetPost()) {
				continue
			}
			for _, r := range pr.GetReaders() {
				if !validRemote(pr.GetPost(), r) {
					continue
				}
				if old, dup := next.readers[r.GetId()]; dup {
					next.remove(r.GetId(), old)
				}
				if t.admits(next, pr.GetPost()) {
					next.add(r.GetId(), remoteEntry{post: pr.GetPost(), reader: fromPB(r)})
				}
			}
		}
		t.replace(c, env.GetNode(), p, next.readers)
		p.seq = b.Snapshot.GetSeq()
		p.synced = true
		t.countOldSnapshot(env.GetNode(), p, b.Snapshot)
		t.releaseRooms(c)
	case *clusterpb.Envelope_Deltas:
		t.stats.deltasReceived.Add(int64(len(b.Deltas.GetDeltas())))
		if !p.synced {
			return // the snapshot we asked for covers these
		}
		if b.Deltas.GetSeq() <= p.seq {
			return // a copy, through a relay or directly (cluster_relay.go), or deltas the snapshot covers
		}
		if b.Deltas.GetSeq() != p.seq+1 {
			t.askSync(c, env.GetNode())
			return
		}
		p.seq = b.Deltas.GetSeq()
		t.apply(c, env.GetNode(), p, b.Deltas.GetDeltas())
		t.countOldDeltas(env.GetNode(), p, b.Deltas.GetDeltas())
	case *clusterpb.Envelope_Heartbeat:
		if p.synced && b.Heartbeat.GetSeq() != p.seq {
			t.askSync(c, env.GetNode()) // we missed deltas (or they raced the heartbeat)
		}
	default:
		// A body from a newer readtag: skipped, the link stays up.
	}
}

// mayAnswer says whether a peer's sync request gets a snapshot: at most one
// every quarter heartbeat. A snapshot is a pass over all our readers, so a
// peer must not get one per tiny request; an honest one asks at most twice
// a heartbeat (askSync), and asks again if an answer was skipped.
func (t *tracker) mayAnswer(node string) bool {
	if !t.links.has(node) {
		return false // the gate lets no one else through; keep the map to peers anyway
	}
	now := time.Now()
	if now.Sub(t.answered[node]) < t.cfg.Heartbeat/4 {
		return false
	}
	t.answered[node] = now
	return true
}

// apply takes a peer's deltas into the replica and tells the rooms.
func (t *tracker) apply(c *actor.Context, node string, p *peerState, deltas []*clusterpb.Delta) {
	moves := make(map[string][]readtag.Move)
	for _, d := range deltas {
		r := d.GetReader()
		if r == nil || !validRemote(d.GetPost(), r) {
			continue
		}
		if !t.accepts(p, d.GetPost()) {
			continue
		}
		switch d.GetKind() {
		case clusterpb.Delta_KIND_JOIN:
			e := remoteEntry{post: d.GetPost(), reader: fromPB(r)}
			if old, ok := p.readers[r.GetId()]; ok {
				p.remove(r.GetId(), old)
				if old.post != e.post {
					// A reader is on one post at a time: joining another moves
					// it, or its ghost would stay on the old post's room.
					t.toRoom(c, old.post, remoteLeave{node: node, id: r.GetId()})
				}
			}
			if !t.admits(p, e.post) {
				continue
			}
			p.add(r.GetId(), e)
			t.toRoom(c, e.post, remoteJoin{reader: remoteReader{node: node, Reader: e.reader}})
		case clusterpb.Delta_KIND_MOVE:
			e, ok := p.readers[r.GetId()]
			if !ok {
				continue
			}
			e.reader.Position = r.GetPosition()
			p.readers[r.GetId()] = e
			moves[e.post] = append(moves[e.post], readtag.Move{ID: r.GetId(), Position: r.GetPosition()})
		case clusterpb.Delta_KIND_LEAVE:
			if e, ok := p.readers[r.GetId()]; ok {
				p.remove(r.GetId(), e)
				t.toRoom(c, e.post, remoteLeave{node: node, id: r.GetId()})
			}
		}
	}
	for post, m := range moves {
		t.toRoom(c, post, remoteMoves{node: node, moves: m})
	}
}

// replace swaps a peer's readers for next (nil: it left), telling the rooms
// only what changed, so that nobody's ghost flickers.
func (t *tracker) replace(c *actor.Context, node string, p *peerState, next map[string]remoteEntry) {
	moves := make(map[string][]readtag.Move)
	for id, old := range p.readers {
		if n, ok := next[id]; !ok || n.post != old.post {
			t.toRoom(c, old.post, remoteLeave{node: node, id: id})
		}
	}
	for id, n := range next {
		old, ok := p.readers[id]
		switch {
		case !ok || old.post != n.post, old.reader.Name != n.reader.Name || old.reader.Color != n.reader.Color:
			// new, moved to another post, or renamed (names.go)
			t.toRoom(c, n.post, remoteJoin{reader: remoteReader{node: node, Reader: n.reader}})
		case old.reader.Position != n.reader.Position:
			moves[n.post] = append(moves[n.post], readtag.Move{ID: id, Position: n.reader.Position})
		}
	}
	for post, m := range moves {
		t.toRoom(c, post, remoteMoves{node: node, moves: m})
	}
	if next == nil {
		next = make(map[string]remoteEntry)
		t.sys.counts.dropNode(node) // its Counts come again with its next snapshot
		p.old = nil                 // an older peer's too (countOldSnapshot)
	}
	p.readers = next
	p.perPost = make(map[string]int)
	for _, e := range next {
		p.perPost[e.post]++
	}
}

// toRoom hands a change to the post's room, if it has one here and room in
// its box (roomInbox); otherwise the room is due a snapshot (resyncRooms).
func (t *tracker) toRoom(c *actor.Context, post string, msg any) {
	sub, ok := t.rooms[post]
	if !ok {
		return
	}
	if t.stale[post] || !sub.box.take() {
		t.stale[post] = true
		t.stats.roomDropped.Add(1)
		return
	}
	c.Send(sub.pid, msg)
}

// resyncRooms sends each room that missed changes a snapshot of the other
// nodes' readers of its post, once its box is half empty.
func (t *tracker) resyncRooms(c *actor.Context) {
	for post := range t.stale {
		sub, ok := t.rooms[post]
		if !ok {
			delete(t.stale, post)
			continue
		}
		if sub.box.n.Load() > roomInbox/2 {
			continue
		}
		delete(t.stale, post)
		sub.box.n.Add(1)
		c.Send(sub.pid, remoteSnapshot{readers: t.remoteReaders(post)})
	}
}

// remoteReaders are the other nodes' readers of post.
func (t *tracker) remoteReaders(post string) []remoteReader {
	var readers []remoteReader
	for node, p := range t.peers {
		if p.perPost[post] == 0 {
			continue
		}
		for _, e := range p.readers {
			if e.post == post {
				readers = append(readers, remoteReader{node: node, Reader: e.reader})
			}
		}
	}
	return readers
}

// validRemote keeps a bad or hostile peer from feeding rooms junk. A room
// is a post's (its slug) or an embedded page's (pagekey.ValidRoomKey).
func validRemote(post string, r *clusterpb.Reader) bool {
	p := r.GetPosition()
	return pagekey.ValidRoomKey(post) && r.GetId() != "" && len(r.GetId()) <= 64 &&
		len(r.GetColor()) <= 16 && len(r.GetName()) <= 64 && utf8.ValidString(r.GetName()) && p >= 0 && p <= 1
}

func pbReader(r readtag.Reader) *clusterpb.Reader {
	return &clusterpb.Reader{Id: r.ID, Color: r.Color, Position: r.Position, Name: r.Name}
}

func fromPB(r *clusterpb.Reader) readtag.Reader {
	return readtag.Reader{ID: r.GetId(), Color: r.GetColor(), Position: r.GetPosition(), Name: r.GetName()}
}
