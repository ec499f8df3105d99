package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/readtag/readtag"
)

// BenchmarkClusterMoves measures the cross-node path of a move: a scroll on
// node a through its reader and room to its tracker, over the link (plain
// TCP here, protobuf in drpc) to b's tracker and into b's room, which
// shows it to b's reader. 50 readers on a scroll in turn; an op is one
// scroll, and the run ends when b's reader shows the last one, so ns/op is
// the throughput cost of the whole path on both nodes (ticks are amortised
// over b.N), and allocs/op the garbage it makes.
func BenchmarkClusterMoves(b *testing.B) {
	const movers = 50 // below the crowd threshold: plain moves
	aAddr, bAddr := freeAddr(b), freeAddr(b)
	cc := func(addr, peer, via string) *ClusterConfig {
		return &ClusterConfig{Addr: addr, Peers: []Peer{{ID: peer, Addr: via}}, Heartbeat: 100 * time.Millisecond, PeerTimeout: 5 * time.Second, ReadyAfter: time.Second}
	}
	a, _ := newPresence(b, Config{NodeID: "a", Tick: 50 * time.Millisecond, Cluster: cc(aAddr, "b", bAddr)})
	bb, _ := newPresence(b, Config{NodeID: "b", Tick: 50 * time.Millisecond, Cluster: cc(bAddr, "a", aAddr)})
	eventually(b, "the pair to form", func() bool {
		ra, _, ma := a.Health()
		rb, _, mb := bb.Health()
		return ra && rb && len(ma) == 2 && len(mb) == 2
	})
	watcher, _ := mustJoin(b, bb, "bench", "watcher")
	sessions := make([]readtag.Session, movers)
	for i := range sessions {
		_, sessions[i] = mustJoin(b, a, "bench", fmt.Sprintf("m%02d", i))
	}
	eventually(b, "b to see every mover", func() bool { return len(watcher.view()) == movers })
	last := func(id string, pos float64) func() bool {
		return func() bool {
			watcher.mu.Lock()
			defer watcher.mu.Unlock()
			return watcher.ghosts[id].Position == pos
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Positions differ from one scroll of a reader to its next, and the
		// last is 1, which no earlier scroll sends.
		sessions[i%movers].Scroll(float64(i%1000) / 1000)
	}
	sessions[(b.N-1)%movers].Scroll(1)
	eventually(b, "b to see the last move", last(fmt.Sprintf("m%02d", (b.N-1)%movers), 1))
	b.StopTimer()
}
