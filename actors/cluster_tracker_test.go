package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/testutil"
)

// A peer that JOINs one of its readers on a second post without a LEAVE on
// the first (a hostile peer, or a reader that moved between two deltas the
// peer coalesced) moves that reader: the first post's room and the index
// counts lose it at once, and the reader's LEAVE then removes it everywhere
// (issue 20, item 4). Before, the ghost stayed on the first post until that
// room emptied. (The index's counts of b's readers come from b's Counts,
// not from its deltas: see TestInterestHostilePeer and TestCountsRemoteNodes.)
func TestTrackerRejoinOnAnotherPostLeavesTheFirst(t *testing.T) {
	p, _ := newPresence(t, Config{NodeID: "a", Cluster: &ClusterConfig{
		Addr:  testutil.FreeAddr(t),
		Peers: []Peer{{ID: "b", Addr: testutil.FreeAddr(t)}}, // nobody listens there: b's messages are ours
		// b is silent but for what this test sends: its replica must not expire meanwhile.
		Heartbeat: 50 * time.Millisecond, PeerTimeout: time.Hour,
	}})
	onOne, _ := mustJoin(t, p, "one", "local-1")
	onTwo, _ := mustJoin(t, p, "two", "local-2")
	wantCounts(t, p, map[string]int{"one": 1, "two": 1})

	tracker := p.cluster[1]
	p.sys.engine.Send(tracker, cluster.MemberJoinEvent{Member: &cluster.Member{ID: "b"}})
	fromB := func(body any) {
		env := &clusterpb.Envelope{Node: "b", Incarnation: 1}
		switch b := body.(type) {
		case *clusterpb.Snapshot:
			env.Body = &clusterpb.Envelope_Snapshot{Snapshot: b}
		case *clusterpb.Deltas:
			env.Body = &clusterpb.Envelope_Deltas{Deltas: b}
		}
		p.sys.engine.Send(tracker, env)
	}
	delta := func(seq uint64, kind clusterpb.Delta_Kind, post string) *clusterpb.Deltas {
		return &clusterpb.Deltas{Seq: seq, Deltas: []*clusterpb.Delta{{Kind: kind, Post: post, Reader: &clusterpb.Reader{Id: "x", Color: "#abc", Position: 0.5}}}}
	}
	fromB(&clusterpb.Snapshot{Seq: 0})

	fromB(delta(1, clusterpb.Delta_KIND_JOIN, "one"))
	wantView(t, onOne, "x@0.5")

	fromB(delta(2, clusterpb.Delta_KIND_JOIN, "two"))
	wantView(t, onTwo, "x@0.5")
	wantView(t, onOne)

	fromB(delta(3, clusterpb.Delta_KIND_LEAVE, "two"))
	wantView(t, onTwo)
	wantView(t, onOne)
	wantCounts(t, p, map[string]int{"one": 1, "two": 1})
}

// A peer's readers are taken for post rooms and embedded pages' rooms
// (issue 21), and for nothing else: a key the web edge could never make
// (another spelling of a page, an actor path, junk) is dropped.
func TestValidRemoteRoomKeys(t *testing.T) {
	r := &clusterpb.Reader{Id: "x", Color: "#336699", Name: "Teal Otter", Position: 0.5}
	for _, key := range []string{"hello", "blog.example.com/posts/hello", "blog/", "blog/#chapter-1", "127.0.0.1:8080/a%2Fb"} {
		if !validRemote(key, r) {
			t.Errorf("validRemote(%q) = false", key)
		}
	}
	for _, key := range []string{"", "Hello", "blog.example.com/posts/hello/", "blog/a/../b", "blog/a%2fb", "blog/a b",
		"blog/#", "blog/#a b", "/posts/hello", "blog|x/y", "blog/a?q", "blog/" + string(make([]byte, 600))} {
		if validRemote(key, r) {
			t.Errorf("validRemote(%q) = true", key)
		}
	}
}

// trackerWithPeerB is a clustered engine whose peer b is played by the
// test: fromB hands its tracker an Envelope from b.
func trackerWithPeerB(t *testing.T, cc ClusterConfig) (*Presence, func(body any)) {
	t.Helper()
	cc.Addr = testutil.FreeAddr(t)
	cc.Peers = []Peer{{ID: "b", Addr: testutil.FreeAddr(t)}} // nobody listens there: b's messages are ours
	// b is silent but for what the test sends: its replica must not expire meanwhile.
	cc.PeerTimeout = time.Hour
	setDefault(&cc.Heartbeat, 50*time.Millisecond)
	p, _ := newPresence(t, Config{NodeID: "a", Cluster: &cc})
	tracker := p.cluster[1]
	p.sys.engine.Send(tracker, cluster.MemberJoinEvent{Member: &cluster.Member{ID: "b"}})
	return p, func(body any) { p.sys.engine.Send(tracker, envelopeFromB(1, body)) }
}

// envelopeFromB wraps a tracker message from incarnation inc of peer b.
func envelopeFromB(inc uint64, body any) *clusterpb.Envelope {
	env := &clusterpb.Envelope{Node: "b", Incarnation: inc}
	switch b := body.(type) {
	case *clusterpb.Snapshot:
		env.Body = &clusterpb.Envelope_Snapshot{Snapshot: b}
	case *clusterpb.Deltas:
		env.Body = &clusterpb.Envelope_Deltas{Deltas: b}
	case *clusterpb.Counts:
		env.Body = &clusterpb.Envelope_Counts{Counts: b}
	case *clusterpb.Interest:
		env.Body = &clusterpb.Envelope_Interest{Interest: b}
	case *clusterpb.SyncRequest:
		env.Body = &clusterpb.Envelope_SyncRequest{SyncRequest: b}
	}
	return env
}

// wantViewLen waits until c sees n other readers.
func wantViewLen(t testing.TB, c *client, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d readers in view", n), func() bool { return len(c.view()) == n })
}

func readersOn(post, prefix string, n int) *clusterpb.PostReaders {
	pr := &clusterpb.PostReaders{Post: post}
	for i := range n {
		pr.Readers = append(pr.Readers, &clusterpb.Reader{Id: fmt.Sprintf("%s%d", prefix, i), Color: "#abc", Position: 0.5})
	}
	return pr
}

func joins(seq uint64, post, prefix string, n int) *clusterpb.Deltas {
	d := &clusterpb.Deltas{Seq: seq}
	for _, r := range readersOn(post, prefix, n).Readers {
		d.Deltas = append(d.Deltas, &clusterpb.Delta{Kind: clusterpb.Delta_KIND_JOIN, Post: post, Reader: r})
	}
	return d
}

// A peer keeps at most MaxRemoteReaders readers here and MaxPostReaders on
// one post: its snapshot is truncated to them, joins past them are not
// created (and counted), and a leave makes room again. A snapshot the
// tracker did not ask for is ignored (issue 20, item 3). The rooms are
// open first: a node replicates only the posts it has a room for.
func TestTrackerCapsRemoteReaders(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{MaxRemoteReaders: 5, MaxPostReaders: 3})
	onOne, _ := mustJoin(t, p, "one", "local-1")
	onTwo, _ := mustJoin(t, p, "two", "local-2")
	mustJoin(t, p, "three", "local-3")
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("one", "x", 4), readersOn("two", "y", 4), readersOn("three", "z", 0)}})
	wantViewLen(t, onOne, 3)
	wantViewLen(t, onTwo, 2)
	eventually(t, "3 readers refused", func() bool { return p.state.stats.readersRefused.Load() == 3 })

	// b holds 5 already; a move of the refused reader is ignored.
	fromB(joins(1, "three", "z", 1))
	fromB(&clusterpb.Deltas{Seq: 2, Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_MOVE, Post: "three", Reader: &clusterpb.Reader{Id: "z0", Position: 0.7}}}})
	fromB(&clusterpb.Deltas{Seq: 3, Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_LEAVE, Post: "one", Reader: &clusterpb.Reader{Id: "x0"}}}})
	fromB(joins(4, "one", "w", 2)) // one place on "one" (2 there), and that is b's last
	wantViewLen(t, onOne, 3)
	wantViewLen(t, onTwo, 2)
	eventually(t, "5 readers refused", func() bool { return p.state.stats.readersRefused.Load() == 5 })

	// Not asked for: ignored, whatever it holds.
	fromB(&clusterpb.Snapshot{Seq: 4, Posts: []*clusterpb.PostReaders{readersOn("four", "v", 1)}})
	fromB(&clusterpb.Deltas{Seq: 5, Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_LEAVE, Post: "two", Reader: &clusterpb.Reader{Id: "y0"}}}})
	wantViewLen(t, onTwo, 1)
	wantViewLen(t, onOne, 3)
}

// A room that falls roomInbox changes behind is not sent more: the tracker
// counts what it drops and later sends the room a snapshot of the post,
// holding exactly the peer's readers. The room here is the test's own,
// which takes nothing until the flood is in, so that its box is full
// whatever the scheduler does (a real room on another core may keep up).
func TestTrackerResyncsARoomThatFellBehind(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{})
	fromB(&clusterpb.Snapshot{Seq: 0})
	release := make(chan struct{})
	snapshots := make(chan []remoteReader, 64)
	box := &mailbox{max: roomInbox}
	held := false
	room := p.sys.engine.SpawnFunc(func(c *actor.Context) {
		switch m := c.Message().(type) {
		case actor.Initialized, actor.Started, actor.Stopped:
			return
		case remoteSnapshot:
			snapshots <- m.readers
		}
		if !held {
			held = true
			<-release
		}
		box.done()
	}, "room", actor.WithID("one"))
	tracker := p.cluster[1]
	p.sys.engine.Send(tracker, roomSubscribe{post: "one", room: room, box: box})
	// The tracker tells b it cares about "one" now; b answers.
	fromB(&clusterpb.Snapshot{Seq: 0, Partial: true, Posts: []*clusterpb.PostReaders{readersOn("one", "x", 0)}})
	// 4 × roomInbox joins and the leaves of all but one, in one message:
	// far more than the room's box holds.
	n := 4 * roomInbox
	d := joins(1, "one", "x", n)
	for _, r := range readersOn("one", "x", n).Readers[1:] {
		d.Deltas = append(d.Deltas, &clusterpb.Delta{Kind: clusterpb.Delta_KIND_LEAVE, Post: "one", Reader: r})
	}
	fromB(d)
	eventually(t, "room messages dropped", func() bool { return p.state.stats.roomDropped.Load() > 0 })
	close(release)
	deadline := time.After(testutil.WaitLimit)
	for {
		select {
		case readers := <-snapshots:
			if len(readers) == 1 && readers[0].ID == "x0" && readers[0].node == "b" {
				return
			}
		case <-deadline:
			t.Fatal("no snapshot holding exactly b's reader x0 after the room caught up")
		}
	}
}

// A burst of sync requests from a peer gets one snapshot, not one each: a
// snapshot is a pass over all our readers (issue 20, item 3).
func TestTrackerAnswersSyncRequestsAtMostOnceAQuarterHeartbeat(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{Heartbeat: time.Second})
	for i := range 50 {
		mustJoin(t, p, "one", fmt.Sprintf("local-%d", i))
	}
	tracker := p.cluster[1]
	for range 100 {
		p.sys.engine.Send(tracker, &clusterpb.Envelope{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_SyncRequest{SyncRequest: &clusterpb.SyncRequest{}}})
	}
	// Then b's snapshot and counts: once its reader is counted, the
	// tracker has handled every request before them.
	fromB(&clusterpb.Snapshot{Posts: []*clusterpb.PostReaders{readersOn("two", "x", 1)}})
	fromB(&clusterpb.Counts{Seq: 1, Full: true, Posts: []*clusterpb.PostCount{{Post: "two", Readers: 1}}})
	wantCounts(t, p, map[string]int{"one": 50, "two": 1})
	if n := p.state.stats.snapshotsSent.Load(); n > 2 {
		t.Fatalf("%d snapshots sent for 100 requests", n)
	}
}
