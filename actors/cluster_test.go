package actors

import (
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/faultproxy"
	"github.com/readtag/readtag/internal/ratelog"
	"github.com/readtag/readtag/internal/testutil"
)

// pair is two cluster nodes in this process whose links go through fault
// proxies: ab carries a's link to b, ba b's link to a.
type pair struct {
	a, b       *Presence
	ab, ba     *faultproxy.Proxy
	aLog, bLog *testutil.SyncBuffer
}

func startPair(t *testing.T) *pair {
	t.Helper()
	return startPairWith(t, Config{})
}

// startPairWith starts a pair whose nodes both take base's room settings.
func startPairWith(t *testing.T, base Config) *pair {
	t.Helper()
	addrs := testutil.FreeAddrs(t, 2)
	aAddr, bAddr := addrs[0], addrs[1]
	ab := testutil.NewProxy(t, bAddr)
	ba := testutil.NewProxy(t, aAddr)
	cc := func(addr, peer, via string) *ClusterConfig {
		return &ClusterConfig{Addr: addr, Peers: []Peer{{ID: peer, Addr: via}}, Heartbeat: 50 * time.Millisecond, PeerTimeout: 400 * time.Millisecond, ReadyAfter: time.Second}
	}
	p := &pair{ab: ab, ba: ba}
	ca, cb := base, base
	ca.NodeID, ca.Cluster = "a", cc(aAddr, "b", ab.Addr())
	cb.NodeID, cb.Cluster = "b", cc(bAddr, "a", ba.Addr())
	p.a, p.aLog = newPresence(t, ca)
	p.b, p.bLog = newPresence(t, cb)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of a:\n%s\nlog of b:\n%s", p.aLog, p.bLog)
		}
	})
	eventually(t, "the pair to form", func() bool {
		ra, _, ma := p.a.Health()
		rb, _, mb := p.b.Health()
		return ra && rb && len(ma) == 2 && len(mb) == 2
	})
	return p
}

// Changes made while the nodes cannot hear each other reach the peer after
// the heal: no departed reader stays, no new one stays invisible (issue 10,
// B1). Two mechanisms make sure of it: every change is numbered, peers or
// not, and a replica that went quiet is re-synced by snapshot.
func TestClusterChangesDuringPartitionReachPeerAfterHeal(t *testing.T) {
	p := startPair(t)
	_, gone := mustJoin(t, p.a, "alpha", "gone")
	onB, _ := mustJoin(t, p.b, "alpha", "on-b")
	wantView(t, onB, "gone@0")

	for _, px := range []*faultproxy.Proxy{p.ab, p.ba} {
		px.BlackHole(faultproxy.Forward, true)
		px.BlackHole(faultproxy.Backward, true)
	}
	wantView(t, onB) // b dropped a's readers: a is silent
	eventually(t, "a to count b out", func() bool {
		_, _, members := p.a.Health()
		return len(members) == 1
	})
	gone.Leave()
	_, s := mustJoin(t, p.a, "alpha", "new")
	s.Scroll(0.5)
	for _, px := range []*faultproxy.Proxy{p.ab, p.ba} {
		if err := px.Heal(); err != nil {
			t.Fatal(err)
		}
	}
	wantView(t, onB, "new@0.5")
}

// A reset connection is not a departure: the link re-dials and the peer's
// readers stay, without a leave (issue 10, B4).
func TestClusterResetIsNoLeave(t *testing.T) {
	p := startPair(t)
	onA, s := mustJoin(t, p.a, "alpha", "on-a")
	onB, _ := mustJoin(t, p.b, "alpha", "on-b")
	wantView(t, onB, "on-a@0")
	wantView(t, onA, "on-b@0")
	leaves := onB.leaves()
	for i := range 10 {
		p.ab.Reset()
		p.ba.Reset()
		s.Scroll(float64(i+1) / 20)
	}
	wantView(t, onB, "on-a@0.5")
	if n := onB.leaves() - leaves; n != 0 {
		t.Errorf("10 resets made on-b see %d leaves", n)
	}
	if st := p.a.ClusterStatus(); st.Counters["link_drops"] == 0 {
		t.Errorf("no link drop counted after 10 resets: %v", st.Counters)
	}
}

// Nothing of readtag's goes through Hollywood's remote router, whose first
// send to an address dials synchronously inside its actor (issue 10, B3):
// no stream writer is ever spawned for a peer.
func TestClusterNeverUsesHollywoodRouter(t *testing.T) {
	p := startPair(t)
	mustJoin(t, p.a, "alpha", "on-a")
	onB, _ := mustJoin(t, p.b, "alpha", "on-b")
	wantView(t, onB, "on-a@0")
	for _, n := range []struct {
		p    *Presence
		peer string
	}{{p.a, p.ab.Addr()}, {p.b, p.ba.Addr()}} {
		if pid := n.p.sys.engine.Registry.GetPID("stream", n.peer); pid != nil {
			t.Errorf("Hollywood has a stream writer %v: its router dialled", pid)
		}
	}
}

// Health tells the truth: a peer cut off one way is "one-way" on the side
// that still hears it and "down" on the other, and an isolated node is not
// ready (issue 10, B2 and B5).
func TestClusterOneWayHealth(t *testing.T) {
	p := startPair(t)
	// b → a black-holed: b's link to a, and b's data on a's link to b.
	p.ba.BlackHole(faultproxy.Forward, true)
	p.ab.BlackHole(faultproxy.Backward, true)
	eventually(t, "a to see b down and b to see a one-way", func() bool {
		sa, sb := p.a.ClusterStatus(), p.b.ClusterStatus()
		return sa.Peers[0].State == stateDown && sb.Peers[0].State == stateOneWay
	})
	// A peer's state and the node's readiness are published one after the
	// other (not as one): wait for the readiness too.
	for _, n := range []*Presence{p.a, p.b} {
		eventually(t, "isolated nodes not ready", func() bool { ready, _, _ := n.Health(); return !ready })
		if ready, node, members := n.Health(); ready || len(members) != 1 {
			t.Errorf("%s, isolated, reports ready %v with members %v", node, ready, members)
		}
	}
	if err := p.ba.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := p.ab.Heal(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both up again", func() bool {
		ra, _, _ := p.a.Health()
		rb, _, _ := p.b.Health()
		return ra && rb && p.a.ClusterStatus().Peers[0].State == stateUp && p.b.ClusterStatus().Peers[0].State == stateUp
	})
}

// A peer's announced address is followed only when it is a host:port and
// the peer moved (a different announcement than before), at most once per
// ChangeEvery; junk changes nothing, and a node that is not a peer is not
// listened to at all.
func TestClusterAddressAnnouncements(t *testing.T) {
	addrs := testutil.FreeAddrs(t, 2)
	addr, nowhere := addrs[0], addrs[1]
	cfg := ClusterConfig{Addr: addr, Peers: []Peer{{ID: "b", Addr: nowhere}}, Heartbeat: 20 * time.Millisecond, PeerTimeout: time.Second}
	p, logs := newPresence(t, Config{NodeID: "a", Cluster: &cfg})
	// The rule itself, on a provider of our own whose links never start.
	l := newLinks(p.sys.engine, cfg, p.sys.log, &clusterStats{})
	prov := &provider{sys: p.sys, cfg: ClusterConfig{ChangeEvery: time.Hour}, log: ratelog.New(p.sys.log, 0), self: &cluster.Member{ID: "a"}, links: l, state: &clusterState{}}
	b := &peerLiveness{Peer: cfg.Peers[0]}
	prov.learnAddr(b, "127.0.0.1:1", time.Now()) // the first announcement is only noted
	for _, junk := range []string{"", "not an address", "127.0.0.1", ":::", strings.Repeat("x", 300) + ":1"} {
		prov.learnAddr(b, junk, time.Now())
	}
	if got := l.addr("b"); got != nowhere {
		t.Errorf("after a first announcement and junk the link to b dials %s, want %s", got, nowhere)
	}
	prov.learnAddr(b, "127.0.0.1:2", time.Now())
	if got := l.addr("b"); got != "127.0.0.1:2" {
		t.Errorf("after b moved the link dials %s, want 127.0.0.1:2", got)
	}
	// Moving again within ChangeEvery is held back, and taken after it.
	prov.learnAddr(b, "127.0.0.1:3", time.Now())
	if got := l.addr("b"); got != "127.0.0.1:2" {
		t.Errorf("b moved twice within ChangeEvery and the link dials %s, want 127.0.0.1:2", got)
	}
	prov.learnAddr(b, "127.0.0.1:3", time.Now().Add(time.Hour))
	if got := l.addr("b"); got != "127.0.0.1:3" {
		t.Errorf("after ChangeEvery the link dials %s, want 127.0.0.1:3", got)
	}

	// A stranger's heartbeat, through the real provider.
	p.sys.engine.Send(p.cluster[0], &clusterpb.Envelope{Node: "mallory", Incarnation: 7, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{Addr: "127.0.0.1:9"}}})
	eventually(t, "the stranger to be logged", func() bool { return strings.Contains(logs.String(), "not a peer") })
	if got := p.links.addr("b"); got != nowhere {
		t.Errorf("after a stranger's heartbeat the link to b dials %s", got)
	}
	if st := p.ClusterStatus(); st.Peers[0].HeardAgo >= 0 || len(st.Peers) != 1 {
		t.Errorf("a stranger's heartbeat counts: %+v", st.Peers)
	}
}
