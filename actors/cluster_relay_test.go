package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/faultproxy"
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
		cc := &ClusterConfig{Addr: addrs[i], Heartbeat: 100 * time.Millisecond, PeerTimeout: time.Second, ReadyAfter: 2 * time.Second}
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

// With b→a cut and c reaching both, b's messages for a go through c: a's
// and b's readers keep seeing each other (no leave) and b's scrolls reach
// a throughout the fault, and after the heal the relay stops, with no leave
// or join either.
func TestRelayOneWayPartition(t *testing.T) {
	tr := startTrio(t)
	onA, sa := mustJoin(t, tr.nodes["a"], "alpha", "ra")
	onB, sb := mustJoin(t, tr.nodes["b"], "alpha", "rb")
	wantView(t, onA, "rb@0")
	wantView(t, onB, "ra@0")

	tr.blackHole("b", "a", true)
	cut := time.Now()
	for i := 1; time.Since(cut) < 4*time.Second; i++ {
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
	c, a, b := &tr.nodes["c"].state.stats, &tr.nodes["a"].state.stats, &tr.nodes["b"].state.stats
	if c.relayCarried.Load() == 0 || a.relayDelivered.Load() == 0 || b.relaySent.Load() == 0 {
		t.Errorf("b sent %d through a relay, c carried %d, a took %d: want each > 0", b.relaySent.Load(), c.relayCarried.Load(), a.relayDelivered.Load())
	}
	if n := a.relaySent.Load(); n != 0 {
		t.Errorf("a, which b hears directly, relayed %d messages", n)
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

// In a symmetric partition (a and b hear nothing of each other directly)
// nothing is relayed: both hide the other's readers, as the fault suite's
// SymmetricPartition asserts.
func TestRelayNotForSymmetricPartition(t *testing.T) {
	tr := startTrio(t)
	onA, _ := mustJoin(t, tr.nodes["a"], "alpha", "ra")
	onB, _ := mustJoin(t, tr.nodes["b"], "alpha", "rb")
	wantView(t, onA, "rb@0")
	wantView(t, onB, "ra@0")
	tr.blackHole("a", "b", true)
	tr.blackHole("b", "a", true)
	wantView(t, onA)
	wantView(t, onB)
	for _, id := range []string{"a", "b"} {
		if n := tr.nodes[id].state.stats.relaySent.Load(); n != 0 {
			t.Errorf("%s relayed %d messages in a symmetric partition", id, n)
		}
	}
}
