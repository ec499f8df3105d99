package actors

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/internal/testutil"
)

// BenchmarkClusterMoves measures the cross-node path of a move: a scroll on
// node a through its reader and room to its tracker, over the link (plain
// TCP here, protobuf in drpc) to b's tracker and into b's room, which
// shows it to b's reader. 50 readers on a scroll in turn; an op is one
// scroll, and the run ends when b's reader shows the last one.
//
// "flood" sends as fast as it can: ns/op is the throughput cost of the whole
// path on both nodes (ticks are amortised over b.N), allocs/op the garbage.
// "paced-N" sends N scrolls a second, as readers do (1,000 readers at 5 Hz
// over 3 nodes are about 1,700 a second per node): its cpu-ns/move is the
// process's CPU time (both nodes) per scroll, which includes the cost of
// every batch the tracker sends and every wake-up on the way, and its
// wall time is mostly the pacing.
func BenchmarkClusterMoves(b *testing.B) {
	b.Run("flood", func(b *testing.B) { benchClusterMoves(b, 0) })
	b.Run("paced-200", func(b *testing.B) { benchClusterMoves(b, 200) })
	b.Run("paced-2000", func(b *testing.B) { benchClusterMoves(b, 2000) })
}

func benchClusterMoves(b *testing.B, rate int) {
	const movers = 50 // below the crowd threshold: plain moves
	addrs := testutil.FreeAddrs(b, 2)
	aAddr, bAddr := addrs[0], addrs[1]
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
	// Pacing: a tick every period, per scrolls each.
	period, per := time.Duration(0), 1
	if rate > 0 {
		period = time.Second / time.Duration(rate)
		if period < time.Millisecond {
			period, per = time.Millisecond, rate/1000
		}
	}
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	next := time.Now()
	for i := range b.N {
		// Positions differ from one scroll of a reader to its next, and the
		// last is 1, which no earlier scroll sends.
		sessions[i%movers].Scroll(float64(i%1000) / 1000)
		if period > 0 && (i+1)%per == 0 {
			next = next.Add(period)
			time.Sleep(time.Until(next))
		}
	}
	sessions[(b.N-1)%movers].Scroll(1)
	eventually(b, "b to see the last move", last(fmt.Sprintf("m%02d", (b.N-1)%movers), 1))
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/move")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
