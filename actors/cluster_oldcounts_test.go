package actors

import (
	"testing"

	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
)

// leaves is a Deltas of leaves, one per reader id.
func leaves(seq uint64, post string, ids ...string) *clusterpb.Deltas {
	d := &clusterpb.Deltas{Seq: seq}
	for _, id := range ids {
		d.Deltas = append(d.Deltas, &clusterpb.Delta{Kind: clusterpb.Delta_KIND_LEAVE, Post: post, Reader: &clusterpb.Reader{Id: id}})
	}
	return d
}

// A peer older than interest replication (its SyncRequest asks for every
// post; it sends no Counts) has its readers counted on the index from its
// snapshot and deltas, also on posts this node has no room for; the counts
// follow its joins, moves to another post and leaves, and go when it
// leaves the membership.
func TestOlderPeerCountedFromItsDeltas(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{})
	mustJoin(t, p, "one", "local-1")
	fromB(&clusterpb.SyncRequest{})
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("one", "x", 1), readersOn("two", "y", 2)}})
	wantCounts(t, p, map[string]int{"one": 2, "two": 2})

	fromB(joins(1, "three", "z", 3))
	wantCounts(t, p, map[string]int{"one": 2, "two": 2, "three": 3})
	fromB(leaves(2, "two", "y0", "y1"))
	fromB(joins(3, "two", "z", 1)) // z0 goes from "three" to "two"
	fromB(&clusterpb.Deltas{Seq: 4, Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_MOVE, Post: "two", Reader: &clusterpb.Reader{Id: "z0", Position: 0.9}}}})
	wantCounts(t, p, map[string]int{"one": 2, "two": 1, "three": 2})

	p.sys.engine.Send(p.cluster[1], cluster.MemberLeaveEvent{Member: &cluster.Member{ID: "b"}})
	wantCounts(t, p, map[string]int{"one": 1})
}

// An older peer's derived counts keep to the caps on a peer's readers,
// and what is past them is counted refused.
func TestOlderPeerCountsWithinCaps(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{MaxRemoteReaders: 5, MaxPostReaders: 3})
	fromB(&clusterpb.SyncRequest{})
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("two", "y", 4), readersOn("../etc", "v", 1)}})
	wantCounts(t, p, map[string]int{"two": 3})
	fromB(joins(1, "three", "z", 3)) // two places left
	wantCounts(t, p, map[string]int{"two": 3, "three": 2})
	eventually(t, "2 readers refused", func() bool { return p.state.stats.readersRefused.Load() == 2 })
}

// A peer that sends Counts is counted by them alone: when an older peer
// restarts upgraded (a new incarnation, a SyncRequest with interest), its
// derived counts go and its Counts replace them, and its deltas (here for a
// post with no room, as after a lost Interest remove) count nothing.
func TestOlderPeerUpgradedCountsOnce(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{})
	mustJoin(t, p, "one", "local-1")
	fromB(&clusterpb.SyncRequest{})
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("two", "y", 2)}})
	wantCounts(t, p, map[string]int{"one": 1, "two": 2})

	fromB2 := func(body any) { p.sys.engine.Send(p.cluster[1], envelopeFromB(2, body)) }
	fromB2(&clusterpb.SyncRequest{Interest: true})
	fromB2(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("one", "x", 0)}})
	fromB2(&clusterpb.Counts{Seq: 1, Full: true, Posts: []*clusterpb.PostCount{{Post: "two", Readers: 3}}})
	wantCounts(t, p, map[string]int{"one": 1, "two": 3})
	fromB2(joins(2, "two", "w", 2))
	fromB2(&clusterpb.Counts{Seq: 3, Posts: []*clusterpb.PostCount{{Post: "four", Readers: 1}}}) // after the deltas: a barrier
	wantCounts(t, p, map[string]int{"one": 1, "two": 3, "four": 1})
}

// An older peer whose snapshot came before its SyncRequest (so before we
// knew it was older) is asked for another, and counted from that one.
func TestOlderPeerSnapshotBeforeItsSyncRequest(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{})
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("two", "y", 2)}})
	fromB(&clusterpb.SyncRequest{})
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("two", "y", 2)}}) // the answer to the tracker's new request
	wantCounts(t, p, map[string]int{"two": 2})
}
