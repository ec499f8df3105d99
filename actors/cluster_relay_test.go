package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/faultproxy"
	"github.com/readtag/readtag/internal/ratelog"
	"github.com/readtag/readtag/internal/testutil"
)

// trio is three cluster nodes in this process, a link through a fault proxy
// for every ordered pair (from → to, in front of to).
type trio struct {
	nodes   map[string]*Presence
	proxies map[[2]string]*faultproxy.Proxy
}

func startTrio(t *testing.T) *trio {
	t.Helper()
	ids := []string{"a", "b", "c"}
	addrs := testutil.FreeAddrs(t, len(ids))
	tr := &trio{nodes: map[string]*Presence{}, proxies: map[[2]string]*faultproxy.Proxy{}}
	for i, from := range ids {
		for j, to := range ids {
			if i != j {
				tr.proxies[[2]string{from, to}] = testutil.NewProxy(t, addrs[j])
			}
		}
	}
	logs := map[string]*testutil.SyncBuffer{}
	for i, id := range ids {
		// A failure timeout of 2 s: the three nodes share one process, and on
		// a loaded machine a 1 s one saw a node stalled long enough for
		// its peers to drop it, partition or not.
		cc := &ClusterConfig{Addr: addrs[i], Heartbeat: 100 * time.Millisecond, PeerTimeout: 2 * time.Second, ReadyAfter: 3 * time.Second}
		for _, other := range ids {
			if other != id {
				cc.Peers = append(cc.Peers, Peer{ID: other, Addr: tr.proxies[[2]string{id, other}].Addr()})
			}
		}
		tr.nodes[id], logs[id] = newPresence(t, Config{NodeID: id, Cluster: cc})
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, id := range ids {
				t.Logf("log of %s:\n%s", id, logs[id])
			}
		}
	})
	eventually(t, "the trio to form", func() bool {
		for _, p := range tr.nodes {
			if ready, _, m := p.Health(); !ready || len(m) != 3 {
				return false
			}
		}
		return true
	})
	return tr
}

// blackHole stops (or resumes) everything from → to: from's link to to, and
// the replies on to's link to from.
func (tr *trio) blackHole(from, to string, on bool) {
	tr.proxies[[2]string{from, to}].BlackHole(faultproxy.Forward, on)
	tr.proxies[[2]string{to, from}].BlackHole(faultproxy.Backward, on)
}

// With b→a cut and c reaching both, b's messages for a go through c (and
// not a's for b, which b hears directly): a's and b's readers keep seeing
// each other (no leave) and b's scrolls reach a throughout the fault, and
// after the heal the relay stops, with no leave or join either.
func TestRelayOneWayPartition(t *testing.T) {
	tr := startTrio(t)
	onA, sa := mustJoin(t, tr.nodes["a"], "alpha", "ra")
	onB, sb := mustJoin(t, tr.nodes["b"], "alpha", "rb")
	wantView(t, onA, "rb@0")
	wantView(t, onB, "ra@0")

	tr.blackHole("b", "a", true)
	cut := time.Now()
	for i := 1; time.Since(cut) < 5*time.Second; i++ { // two failure timeouts and more
		pos := float64(i%90+5) / 100
		sb.Scroll(pos)
		sa.Scroll(1 - pos)
		wantView(t, onA, fmt.Sprintf("rb@%g", pos))
		wantView(t, onB, fmt.Sprintf("ra@%g", 1-pos))
		if onA.leaves() != 0 || onB.leaves() != 0 {
			t.Fatalf("%v into the fault: a's reader saw %d leaves, b's %d", time.Since(cut).Round(time.Millisecond), onA.leaves(), onB.leaves())
		}
		time.Sleep(100 * time.Millisecond) // the scrolls' rhythm, not a wait for a result
	}
	// a hears b only through c, and b's relayed heartbeats say b hears a
	// directly: a relays nothing (it may have for a heartbeat or two while
	// b's relay started).
	if via := tr.nodes["a"].links.relay.route("b"); via != "" {
		t.Errorf("a, which b hears directly, relays to it through %s", via)
	}
	c, a, b := &tr.nodes["c"].state.stats, &tr.nodes["a"].state.stats, &tr.nodes["b"].state.stats
	if c.relayCarried.Load() == 0 || a.relayDelivered.Load() == 0 || b.relaySent.Load() == 0 {
		t.Errorf("b sent %d through a relay, c carried %d, a took %d: want each > 0", b.relaySent.Load(), c.relayCarried.Load(), a.relayDelivered.Load())
	}

	tr.blackHole("b", "a", false)
	eventually(t, "b to stop relaying to a", func() bool { return tr.nodes["b"].links.relay.route("a") == "" })
	sb.Scroll(0.99)
	wantView(t, onA, "rb@0.99")
	if onA.leaves() != 0 || onB.leaves() != 0 {
		t.Fatalf("after the heal: a's reader saw %d leaves, b's %d", onA.leaves(), onB.leaves())
	}
	t.Logf("b sent %d through c, c carried %d, a took %d and dropped %d copies heard directly", b.relaySent.Load(), c.relayCarried.Load(), a.relayDelivered.Load(), a.relayDuplicates.Load())
}

// In a symmetric partition (a and b hear nothing of each other directly,
// both reach c) each relays to the other through c: their readers keep
// seeing each other (no leave) and scrolls on both sides cross the cut
// throughout the fault; after the heal both relays stop, with no leave or
// join either.
func TestRelaySymmetricPartition(t *testing.T) {
	tr := startTrio(t)
	onA, sa := mustJoin(t, tr.nodes["a"], "alpha", "ra")
	onB, sb := mustJoin(t, tr.nodes["b"], "alpha", "rb")
	wantView(t, onA, "rb@0")
	wantView(t, onB, "ra@0")

	tr.blackHole("a", "b", true)
	tr.blackHole("b", "a", true)
	cut := time.Now()
	for i := 1; time.Since(cut) < 5*time.Second; i++ { // two failure timeouts and more
		pos := float64(i%90+5) / 100
		sb.Scroll(pos)
		sa.Scroll(1 - pos)
		wantView(t, onA, fmt.Sprintf("rb@%g", pos))
		wantView(t, onB, fmt.Sprintf("ra@%g", 1-pos))
		if onA.leaves() != 0 || onB.leaves() != 0 {
			t.Fatalf("%v into the fault: a's reader saw %d leaves, b's %d", time.Since(cut).Round(time.Millisecond), onA.leaves(), onB.leaves())
		}
		time.Sleep(100 * time.Millisecond) // the scrolls' rhythm, not a wait for a result
	}
	for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
		if via := tr.nodes[pair[0]].links.relay.route(pair[1]); via != "c" {
			t.Errorf("%s relays to %s through %q, want c", pair[0], pair[1], via)
		}
	}
	c, a, b := &tr.nodes["c"].state.stats, &tr.nodes["a"].state.stats, &tr.nodes["b"].state.stats
	if c.relayCarried.Load() == 0 || a.relayDelivered.Load() == 0 || b.relayDelivered.Load() == 0 {
		t.Errorf("c carried %d, a took %d, b took %d: want each > 0", c.relayCarried.Load(), a.relayDelivered.Load(), b.relayDelivered.Load())
	}

	tr.blackHole("a", "b", false)
	tr.blackHole("b", "a", false)
	for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
		eventually(t, pair[0]+" to stop relaying to "+pair[1], func() bool { return tr.nodes[pair[0]].links.relay.route(pair[1]) == "" })
	}
	sb.Scroll(0.99)
	wantView(t, onA, "rb@0.99")
	if onA.leaves() != 0 || onB.leaves() != 0 {
		t.Fatalf("after the heal: a's reader saw %d leaves, b's %d", onA.leaves(), onB.leaves())
	}
	t.Logf("a sent %d and b %d through c, c carried %d, a took %d and b %d", a.relaySent.Load(), b.relaySent.Load(), c.relayCarried.Load(), a.relayDelivered.Load(), b.relayDelivered.Load())
}

// relayProvider is c's provider, for its relay rules, with links that never
// start (what it sends stays queued): its peers a and b are up, under
// incarnations 5 and 7.
func relayProvider(t *testing.T) (*provider, *peerLiveness, *peerLiveness) {
	t.Helper()
	addrs := testutil.FreeAddrs(t, 3)
	cfg := ClusterConfig{Addr: addrs[0], Peers: []Peer{{ID: "a", Addr: addrs[1]}, {ID: "b", Addr: addrs[2]}}, Heartbeat: 500 * time.Millisecond, PeerTimeout: 3 * time.Second, ChangeEvery: 3 * time.Second}
	p, _ := newPresence(t, Config{NodeID: "c", Cluster: &cfg})
	l := newLinks(p.sys.engine, cfg, p.sys.log, &clusterStats{})
	l.relay = newRelayRoutes("c", p.sys.incarnation)
	prov := &provider{sys: p.sys, cfg: cfg, log: ratelog.New(p.sys.log, 0), self: &cluster.Member{ID: "c"}, links: l, state: &clusterState{failed: make(chan error, 1)}, peers: map[string]*peerLiveness{}}
	prov.relayState.box.max = peerInbox
	a := &peerLiveness{Peer: cfg.Peers[0], incarnation: 5, heard: time.Now(), state: stateUp, everUp: true}
	b := &peerLiveness{Peer: cfg.Peers[1], incarnation: 7, heard: time.Now(), state: stateUp, everUp: true}
	prov.peers["a"], prov.peers["b"] = a, b
	prov.order = []string{"a", "b"}
	return prov, a, b
}

// queued is what the links hold for node.
func queued(l *links, node string) []outMsg {
	k, _ := l.get(node)
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]outMsg(nil), k.queue...)
}

func relayOf(from *peerLiveness, to string, inner *clusterpb.Envelope) *clusterpb.Envelope {
	return &clusterpb.Envelope{Node: from.ID, Incarnation: from.incarnation, Version: protocolVersion,
		Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: to, Kind: kindTracker, Envelope: inner}}}
}

func deltasOf(from *peerLiveness, seq uint64) *clusterpb.Envelope {
	return &clusterpb.Envelope{Node: from.ID, Incarnation: from.incarnation, Version: protocolVersion,
		Body: &clusterpb.Envelope_Deltas{Deltas: &clusterpb.Deltas{Seq: seq, Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_JOIN, Post: "alpha", Reader: &clusterpb.Reader{Id: fmt.Sprint("r", seq)}}}}}}
}

// A relay carries an origin's own envelope once, naming the origin, to a
// destination up here; it refuses an envelope of another node's, a Relay
// inside a Relay (one hop), a destination that is the origin or not up,
// and whatever goes past the origin's relay budget, and counts each.
func TestRelayCarries(t *testing.T) {
	prov, a, b := relayProvider(t)
	now := time.Now()
	carry := func(env *clusterpb.Envelope) { prov.carry(nil, b, env, env.GetRelay(), now) }

	carry(relayOf(b, "a", deltasOf(b, 1)))
	got := queued(prov.links, "a")
	if len(got) != 1 {
		t.Fatalf("%d messages queued for a, want 1", len(got))
	}
	out := got[0].msg.(*clusterpb.Envelope)
	if got[0].kind != kindProvider || out.GetNode() != "c" || out.GetRelay().GetFrom() != "b" || out.GetRelay().GetEnvelope().GetDeltas().GetSeq() != 1 {
		t.Fatalf("carried %v to a's %s, want b's deltas from c, naming b", out, got[0].kind)
	}

	nested := relayOf(b, "a", relayOf(b, "a", deltasOf(b, 2)))
	forged := relayOf(b, "a", deltasOf(a, 2))
	toOrigin := relayOf(b, "b", deltasOf(b, 2))
	toStranger := relayOf(b, "x", deltasOf(b, 2))
	for _, env := range []*clusterpb.Envelope{nested, forged, toOrigin, toStranger} {
		carry(env)
	}
	a.state = stateOneWay
	carry(relayOf(b, "a", deltasOf(b, 2)))
	a.state = stateUp
	if n := len(queued(prov.links, "a")) + len(queued(prov.links, "b")); n != 1 || prov.state.stats.relayRefused.Load() != 5 {
		t.Fatalf("%d messages queued and %d refused after five bad ones, want 1 and 5", n, prov.state.stats.relayRefused.Load())
	}

	// The budget: its burst at once, then nothing more in the same instant.
	for i := range 2 * relayMessages * budgetBurst {
		carry(relayOf(b, "a", deltasOf(b, uint64(i+3))))
	}
	if n, want := prov.state.stats.relayCarried.Load(), int64(relayMessages*budgetBurst); n != want {
		t.Errorf("carried %d of b's messages in one instant, want the budget's burst %d", n, want)
	}
	// Another origin has its own budget.
	prov.carry(nil, a, relayOf(a, "b", deltasOf(a, 1)), relayOf(a, "b", deltasOf(a, 1)).GetRelay(), now)
	if len(queued(prov.links, "b")) != 1 {
		t.Error("a's relay was refused after b spent its budget")
	}
}

// The destination takes a relayed envelope only for itself, from a peer
// of its that is not the relay, never a Relay inside, nor a heartbeat of
// another incarnation while it hears the origin's, and drops it as a
// duplicate while it hears the origin directly.
func TestRelayDeliverRefuses(t *testing.T) {
	prov, a, b := relayProvider(t) // c is the destination here, a the relay, b the origin
	deliver := func(to, from string, inner *clusterpb.Envelope) {
		prov.relayDeliver(nil, a, &clusterpb.Relay{To: to, From: from, Kind: kindTracker, Envelope: inner}, time.Now())
	}
	deliver("x", "b", deltasOf(b, 1))                  // not for us
	deliver("c", "a", deltasOf(a, 1))                  // the relay naming itself
	deliver("c", "x", deltasOf(b, 1))                  // from no peer
	deliver("c", "b", deltasOf(a, 1))                  // not the origin's envelope
	deliver("c", "b", relayOf(b, "c", deltasOf(b, 1))) // a Relay inside
	if n := prov.state.stats.relayRefused.Load(); n != 5 || prov.state.stats.relayDelivered.Load() != 0 {
		t.Fatalf("refused %d of five bad relayed envelopes, delivered %d", n, prov.state.stats.relayDelivered.Load())
	}
	// Another incarnation of b's heartbeat while the one we take is heard:
	// a rival or a restart not yet sure, judged on a direct connection.
	rival := &clusterpb.Envelope{Node: "b", Incarnation: b.incarnation + 1, Version: protocolVersion,
		Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}
	prov.relayDeliver(nil, a, &clusterpb.Relay{To: "c", From: "b", Kind: kindProvider, Envelope: rival}, time.Now())
	if n := prov.state.stats.relayRefused.Load(); n != 6 || b.incarnation != 7 {
		t.Fatalf("a relayed heartbeat of b's next incarnation while b's is heard: %d refused, b's incarnation %d; want 6 and 7", n, b.incarnation)
	}
	b.direct = time.Now()
	deliver("c", "b", deltasOf(b, 1))
	if prov.state.stats.relayDuplicates.Load() != 1 || prov.state.stats.relayDelivered.Load() != 0 {
		t.Error("a relayed envelope of an origin heard directly was not dropped as a duplicate")
	}
}

// links.send copies a message for a peer with a relay route to the relay,
// wrapped, and never wraps a Relay (one hop).
func TestRelayRouteNoLoop(t *testing.T) {
	prov, a, b := relayProvider(t)
	prov.links.relay.set("a", "b")
	prov.links.send("a", kindTracker, nil, deltasOf(&peerLiveness{Peer: Peer{ID: "c"}}, 1))
	prov.links.send("a", kindProvider, nil, relayOf(b, "a", deltasOf(b, 1)))
	got := queued(prov.links, "b")
	if len(got) != 1 || got[0].msg.(*clusterpb.Envelope).GetRelay().GetTo() != "a" || got[0].msg.(*clusterpb.Envelope).GetRelay().GetKind() != kindTracker {
		t.Fatalf("queued for the relay b: %v, want one Relay of the tracker's deltas to a", got)
	}
	if n := len(queued(prov.links, "a")); n != 2 {
		t.Errorf("%d messages queued for a directly, want both", n)
	}
	_ = a
}

// A tracker drops a Deltas it has already applied (the copy of one that
// came through a relay, or directly after the heal) without asking for a
// snapshot, and applies the next one.
func TestRelayTrackerDropsCopies(t *testing.T) {
	p, _ := newPresence(t, Config{NodeID: "a"})
	stats := &clusterStats{}
	tr := newTracker(p.sys, "a", nil, ClusterConfig{MaxRemoteReaders: 10, MaxPostReaders: 10}, stats)().(*tracker)
	tr.lingering["alpha"] = time.Now() // a's care about alpha, with no room to tell
	b := &peerLiveness{Peer: Peer{ID: "b"}, incarnation: 7}
	peer := newPeerState()
	peer.incarnation, peer.synced, peer.seq = 7, true, 4
	tr.peers["b"] = peer
	for _, seq := range []uint64{5, 5, 3, 4, 6} {
		tr.receive(nil, deltasOf(b, seq))
	}
	if peer.seq != 6 || len(peer.readers) != 2 || stats.resyncs.Load() != 0 {
		t.Fatalf("after deltas 5, 5, 3, 4, 6: seq %d, readers %v, %d re-syncs; want 6, r5 and r6, none", peer.seq, peer.readers, stats.resyncs.Load())
	}
}

// Detection: c relays to a peer it hears directly that does not hear it
// directly, never to one it does not hear directly itself (a symmetric
// partition) or one never up, moves to the next relay when the destination
// still does not hear it after the failure timeout, and stops when the
// destination hears it directly again.
func TestRelayRoute(t *testing.T) {
	prov, a, b := relayProvider(t)
	d := &peerLiveness{Peer: Peer{ID: "d"}, incarnation: 9, heard: time.Now(), state: stateUp, everUp: true}
	prov.peers["d"], prov.order = d, []string{"a", "b", "d"}
	now := time.Now()
	for _, p := range []*peerLiveness{a, b, d} {
		p.direct, p.hearsUs = now, true
	}
	if started := prov.route(now); len(started) != 0 || prov.links.relay.route("a") != "" {
		t.Fatalf("relaying with every peer hearing us directly: %v", started)
	}

	a.relayedUs = true // a hears us only through a relay
	if started := prov.route(now); len(started) != 1 || started[0] != a || prov.links.relay.route("a") != "b" {
		t.Fatalf("a, which hears us only through a relay, is routed through %q (started %v), want b", prov.links.relay.route("a"), started)
	}
	a.relayedUs, a.hearsUs = false, false // a hears nothing of us, still: the relay does not work
	later := now.Add(prov.cfg.PeerTimeout + time.Millisecond)
	a.direct, a.heard = later, later
	prov.route(later)
	if via := prov.links.relay.route("a"); via != "d" {
		t.Fatalf("a still deaf to us a failure timeout after relaying through b: relayed through %q, want the next, d", via)
	}
	a.hearsUs = true // a hears us directly again
	prov.route(later)
	if via := prov.links.relay.route("a"); via != "" {
		t.Fatalf("a hears us directly again, and we still relay through %q", via)
	}

	a.relayedUs = true
	a.direct = later.Add(-prov.directWithin() - time.Millisecond) // nor do we hear a directly: symmetric
	prov.route(later)
	b.everUp, b.relayedUs, b.direct = false, true, later // b never came up
	prov.route(later)
	if prov.links.relay.route("a") != "" || prov.links.relay.route("b") != "" {
		t.Errorf("relaying to a we do not hear directly through a peer that does not list it up (%q), or to a peer never up (%q)", prov.links.relay.route("a"), prov.links.relay.route("b"))
	}
	d.reaches = []string{"a"} // d has a up: it can carry to a
	prov.route(later)
	if via := prov.links.relay.route("a"); via != "d" {
		t.Errorf("in a symmetric partition with d listing a up, relayed through %q, want d", via)
	}
	a.everUp, a.heard = false, later.Add(-prov.cfg.PeerTimeout-time.Millisecond) // never up here, nor heard
	prov.route(later)
	if via := prov.links.relay.route("a"); via != "" {
		t.Errorf("relaying through %q to a peer never up here and not heard", via)
	}
}
