package actors

import (
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/faultproxy"
)

// seenClient counts how often its reader was told of each other reader
// (in its welcome or by a join), for "no reader missed or duplicated".
type seenClient struct {
	*client
	mu   sync.Mutex
	seen map[string]int
}

func newSeenClient() *seenClient { return &seenClient{client: newClient(), seen: make(map[string]int)} }

func (c *seenClient) Welcome(you readtag.Reader, others []readtag.Reader) {
	c.mu.Lock()
	for _, r := range others {
		c.seen[r.ID]++
	}
	c.mu.Unlock()
	c.client.Welcome(you, others)
}

func (c *seenClient) Join(r readtag.Reader) {
	c.mu.Lock()
	c.seen[r.ID]++
	c.mu.Unlock()
	c.client.Join(r)
}

func (c *seenClient) seenCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.seen)
}

func joinSeen(t *testing.T, p *Presence, slug, id string) (*seenClient, readtag.Session) {
	t.Helper()
	c := newSeenClient()
	s := p.Join(slug, readtag.Reader{ID: id}, false, c)
	eventually(t, id+" welcomed", c.welcomed)
	return c, s
}

// countsBarrier makes node from add a reader on a fresh post and waits for
// node to count it: from's Counts travel in the same ordered stream as its
// deltas, so every delta from sent before is then in (or lost for good).
func countsBarrier(t *testing.T, from, to *Presence, i int) {
	t.Helper()
	post := fmt.Sprintf("barrier-%d", i)
	_, s := mustJoin(t, from, post, post+"-reader")
	eventually(t, "the barrier reader counted", func() bool {
		_, c := to.Counts(0)
		return c[post] == 1
	})
	s.Leave()
}

func deltasIn(p *Presence) int64 { return p.state.stats.deltasReceived.Load() }

// A node without a room for a post gets none of its deltas, and counts its
// readers all the same (from the peer's Counts). When it opens a room, its
// first reader is told of every reader of the other node exactly once, and
// later changes follow as deltas.
func TestInterestOnlyNodesWithARoomGetDeltas(t *testing.T) {
	p := startPair(t)
	var sessions []readtag.Session
	for i := range 3 {
		_, s := mustJoin(t, p.a, "alpha", fmt.Sprintf("on-a-%d", i))
		s.Scroll(float64(i+1) / 10)
		sessions = append(sessions, s)
	}
	for i := range 20 {
		sessions[i%3].Scroll(float64(i) / 40)
	}
	eventually(t, "b to count alpha's readers", func() bool {
		_, c := p.b.Counts(0)
		return c["alpha"] == 3
	})
	countsBarrier(t, p.a, p.b, 0)
	if n := deltasIn(p.b); n != 0 {
		t.Fatalf("b, with no room for alpha, received %d deltas", n)
	}

	// The welcome holds a's readers unless a took longer than a heartbeat
	// (50 ms here) to answer b's Interest: then they come as joins. Either
	// way each once.
	onB, _ := joinSeen(t, p.b, "alpha", "on-b")
	sessions[0].Scroll(0.9)
	wantView(t, onB.client, "on-a-0@0.9", "on-a-1@0.475", "on-a-2@0.425")
	for id, n := range onB.seenCounts() {
		if n != 1 {
			t.Errorf("on-b was told of %s %d times", id, n)
		}
	}
	if deltasIn(p.b) == 0 {
		t.Error("b, with a room for alpha, received no deltas")
	}
}

// When a node's last reader of a post leaves, the peer stops sending that
// post's deltas once the linger is over, and counts stay right.
func TestInterestUnsubscribeStopsDeltas(t *testing.T) {
	p := startPair(t)
	_, s := mustJoin(t, p.a, "alpha", "on-a")
	onB, sb := mustJoin(t, p.b, "alpha", "on-b")
	wantView(t, onB, "on-a@0")
	sb.Leave()
	wantStopped(t, p.a, p.b, s)
	_, c := p.b.Counts(0)
	if c["alpha"] != 1 {
		t.Errorf("b counts %d readers on alpha, want 1", c["alpha"])
	}
}

// wantStopped scrolls from's reader until to receives no delta for it
// between two counts barriers: from has taken to's Interest remove.
func wantStopped(t *testing.T, from, to *Presence, s readtag.Session) {
	t.Helper()
	for i := 1; ; i++ {
		before := deltasIn(to)
		s.Scroll(float64(i%10) / 10)
		countsBarrier(t, from, to, i)
		if deltasIn(to) == before {
			return
		}
		if i == 50 {
			t.Fatal("the peer still sends the post's deltas after 50 rounds")
		}
	}
}

// blackHolePair cuts (on) or heals both links of a pair both ways.
func blackHolePair(t *testing.T, p *pair, on bool) {
	t.Helper()
	for _, px := range []*faultproxy.Proxy{p.ab, p.ba} {
		if on {
			px.BlackHole(faultproxy.Forward, true)
			px.BlackHole(faultproxy.Backward, true)
		} else if err := px.Heal(); err != nil {
			t.Fatal(err)
		}
	}
}

// A room opened while the link is cut (its Interest is lost, and the peer's
// readers change meanwhile) shows exactly the peer's readers after the heal.
func TestInterestSubscribeRacingPartition(t *testing.T) {
	p := startPair(t)
	_, gone := mustJoin(t, p.a, "alpha", "gone")
	_, stay := mustJoin(t, p.a, "alpha", "stay")
	blackHolePair(t, p, true)
	onB, _ := joinSeen(t, p.b, "alpha", "on-b")
	gone.Leave()
	stay.Scroll(0.5)
	mustJoin(t, p.a, "alpha", "new")
	blackHolePair(t, p, false)
	wantView(t, onB.client, "stay@0.5", "new@0")
	for id, n := range onB.seenCounts() {
		if n > 1 && id != "stay" {
			t.Errorf("on-b was told of %s %d times", id, n)
		}
	}
}

// A room closed while the link is cut (its Interest remove is lost): after
// the heal the peer stops sending the post's deltas all the same.
func TestInterestUnsubscribeRacingPartition(t *testing.T) {
	p := startPair(t)
	_, s := mustJoin(t, p.a, "alpha", "on-a")
	onB, sb := mustJoin(t, p.b, "alpha", "on-b")
	wantView(t, onB, "on-a@0")
	blackHolePair(t, p, true)
	sb.Leave()
	s.Scroll(0.3)
	blackHolePair(t, p, false)
	wantStopped(t, p.a, p.b, s)
}

// Subscribing and unsubscribing across connection resets: each reset may
// lose an Interest or its answer, and the rooms still end up exact.
func TestInterestAcrossResets(t *testing.T) {
	p := startPair(t)
	_, s := mustJoin(t, p.a, "alpha", "on-a")
	for i := range 5 {
		p.ab.Reset()
		p.ba.Reset()
		onB, sb := joinSeen(t, p.b, "alpha", fmt.Sprintf("on-b-%d", i))
		p.ab.Reset()
		p.ba.Reset()
		s.Scroll(float64(i+1) / 10)
		wantView(t, onB.client, fmt.Sprintf("on-a@%g", float64(i+1)/10))
		sb.Leave()
	}
	wantStopped(t, p.a, p.b, s)
}

// A peer's Counts are taken within the caps (a post's count at most
// MaxPostReaders, junk keys dropped), only in seq order, and replaced by a
// full set; a partial snapshot of a post without a room adds nothing; interest past
// the cap is refused and counted.
func TestInterestHostilePeer(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{MaxRemoteReaders: 5, MaxPostReaders: 3})
	onOne, _ := mustJoin(t, p, "one", "local-1")
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("one", "x", 1)}})
	wantViewLen(t, onOne, 1)
	fromB(&clusterpb.Counts{Seq: 1, Full: true, Posts: []*clusterpb.PostCount{
		{Post: "one", Readers: 1_000_000_000}, {Post: "../etc", Readers: 7}, {Post: "two", Readers: 2}}})
	wantCounts(t, p, map[string]int{"one": 1 + 3, "two": 2})
	fromB(&clusterpb.Counts{Seq: 5, Posts: []*clusterpb.PostCount{{Post: "two", Readers: 3}}})    // a gap: not taken
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("one", "x", 1)}}) // the resync's answer
	fromB(&clusterpb.Counts{Seq: 1, Full: true, Posts: []*clusterpb.PostCount{{Post: "three", Readers: 1}}})
	wantCounts(t, p, map[string]int{"one": 1, "three": 1})

	fromB(&clusterpb.Snapshot{Seq: 1, Partial: true, Posts: []*clusterpb.PostReaders{readersOn("four", "z", 3)}}) // no room for "four"
	fromB(&clusterpb.Deltas{Seq: 2, Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_MOVE, Post: "one", Reader: &clusterpb.Reader{Id: "x0", Position: 0.25}}}})
	wantView(t, onOne, "x0@0.25")
	if n := p.state.stats.partialSnapshots.Load(); n != 0 {
		t.Errorf("%d partial snapshots taken, of a post with no room here", n)
	}

	posts := make([]string, 10)
	for i := range posts {
		posts[i] = fmt.Sprintf("p%d", i)
	}
	fromB(&clusterpb.SyncRequest{Interest: true, Posts: posts})
	eventually(t, "interest past the cap refused", func() bool { return p.state.stats.interestRefused.Load() == 1 })
	fromB(&clusterpb.Interest{Add: []string{"more", "and-more"}})
	eventually(t, "adds past the cap refused", func() bool { return p.state.stats.interestRefused.Load() == 3 })
}

// Crowd mode spans the nodes that have a room for the post: a reader on b
// of a post read mostly on a gets crowd frames counting everyone, and a
// node without a room for the post counts it for the index all the same.
func TestInterestCrowdAcrossNodes(t *testing.T) {
	p := startPairWith(t, Config{CrowdThreshold: 4})
	for i := range 4 {
		mustJoin(t, p.a, "alpha", fmt.Sprintf("on-a-%d", i))
	}
	mustJoin(t, p.a, "beta", "only-on-a")
	onB, _ := mustJoin(t, p.b, "alpha", "on-b")
	eventually(t, "on-b's crowd to count all five readers", func() bool {
		onB.mu.Lock()
		defer onB.mu.Unlock()
		return onB.total == 5
	})
	wantCounts(t, p.b, map[string]int{"alpha": 5, "beta": 1})
}

// A room that starts after our SyncRequest went, whose Interest add the peer
// ignored (it did not count us up yet), is not satisfied by the peer's full
// snapshot answering that older request, which does not list its post: we
// ask again for a full sync that does, and the peer's readers of the post
// come. (Before, any full snapshot ended the wait, and the room never got
// the peer's readers: TestClusterJoinSeed's rare miss, 2026-12-07.)
func TestInterestAddBeforeThePeerCountsUs(t *testing.T) {
	p, fromB := trackerWithPeerB(t, ClusterConfig{})
	counter := func(name string) int64 { return p.ClusterStatus().Counters[name] }
	eventually(t, "our first sync request to b (no rooms yet)", func() bool { return counter("resyncs") >= 1 })
	onA, _ := mustJoin(t, p, "alpha", "local") // its Interest add goes to b, which ignores it
	fromB(&clusterpb.Snapshot{Seq: 0})         // b answers the first request: no posts asked, none listed
	eventually(t, "b's snapshot taken", func() bool { return counter("snapshots_received") == 1 })
	asked := counter("resyncs")
	eventually(t, "a full sync that lists alpha", func() bool { return counter("resyncs") > asked })
	fromB(&clusterpb.Snapshot{Seq: 0, Posts: []*clusterpb.PostReaders{readersOn("alpha", "b-", 2)}})
	wantViewLen(t, onA, 2)
}
