package actors

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
)

// A node that says goodbye and restarts on a new address is taken back at
// once, however soon after it was first heard: only a peer flapping
// incarnations is held back, after a burst of upBurst. ChangeEvery is an
// hour here: under the old rule (one new incarnation per ChangeEvery,
// counting the first one heard) the restart was held for that hour.
func TestClusterRestartSoonAfterStartIsTakenAtOnce(t *testing.T) {
	addrs := testutil.FreeAddrs(t, 4)
	cc := func(addr, peer, at string) *ClusterConfig {
		return &ClusterConfig{Addr: addr, Peers: []Peer{{ID: peer, Addr: at}}, Heartbeat: 50 * time.Millisecond, PeerTimeout: 400 * time.Millisecond, ChangeEvery: time.Hour}
	}
	a, aLog := newPresence(t, Config{NodeID: "a", Cluster: cc(addrs[0], "b", addrs[1])})
	bState := func() string { return a.ClusterStatus().Peers[0].State }
	closeNode := func(p *Presence) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	b := []string{addrs[1], addrs[2], addrs[3]}
	for i, addr := range b {
		p, _ := newPresence(t, Config{NodeID: "b", Cluster: cc(addr, "a", addrs[0])})
		if i == len(b)-1 {
			// A third incarnation so soon is flapping: held back.
			eventually(t, "the third incarnation held back", func() bool { return strings.Contains(aLog.String(), "a new incarnation too soon after the last") })
			if s := bState(); s == stateUp {
				t.Errorf("a took b's third incarnation within ChangeEvery: b is %s", s)
			}
			return
		}
		eventually(t, "a to take b's incarnation "+addr, func() bool { return bState() == stateUp && a.ClusterStatus().Peers[0].Addr == addr })
		closeNode(p) // a goodbye
		eventually(t, "a to see b's goodbye", func() bool { return bState() != stateUp })
	}
}
