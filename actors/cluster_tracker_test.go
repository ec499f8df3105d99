package actors

import (
	"testing"
	"time"

	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/testutil"
)

// A peer that JOINs one of its readers on a second post without a LEAVE on
// the first (a hostile peer, or a reader that moved between two deltas the
// peer coalesced) moves that reader: the first post's room and the index
// counts lose it at once, and the reader's LEAVE then removes it everywhere
// (issue 20, item 4). Before, the ghost stayed on the first post until that
// room emptied.
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
	wantCounts(t, p, map[string]int{"one": 2, "two": 1})

	fromB(delta(2, clusterpb.Delta_KIND_JOIN, "two"))
	wantView(t, onTwo, "x@0.5")
	wantView(t, onOne)
	wantCounts(t, p, map[string]int{"one": 1, "two": 2})

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
