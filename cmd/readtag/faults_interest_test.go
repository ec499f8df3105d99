//go:build faults

package main

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"
)

// faultBarrier puts a reader of a post nobody reads on node from and waits
// until to's index counts it: from's Counts share one ordered stream with
// the deltas it sent to before them.
func faultBarrier(t *testing.T, from, to *node, index *countsWatch, i int) {
	t.Helper()
	post := []string{"fractions-not-pixels", "how-readtag-works"}[i%2]
	want := index.get()[post] + 1
	c := dial(t, from, post)
	within(t, 10*time.Second, fmt.Sprintf("%s's index to count barrier %d", to.id, i), func() bool { return index.get()[post] == want })
	_ = c.Close()
	within(t, 10*time.Second, fmt.Sprintf("%s's index to count barrier %d gone", to.id, i), func() bool { return index.get()[post] == want-1 })
}

// deltasStopped scrolls r until node to receives no delta between two
// barriers: its peers have taken its Interest remove for the post.
func (w *world) deltasStopped(r *reader, to *node) {
	w.t.Helper()
	index := watchCountsAt(w.t, to, "/ws/index", to.url())
	for i := 0; ; i++ {
		before := metricOf(w.t, to, "readtag_cluster_deltas_received_total")
		w.scroll(r)
		faultBarrier(w.t, r.n, to, index, i)
		if metricOf(w.t, to, "readtag_cluster_deltas_received_total") == before {
			return
		}
		if i == 20 {
			w.t.Fatalf("%s still receives deltas for a post it has no room for after 20 rounds", to.id)
		}
	}
}

// TestFaultsInterest: a node starts and stops caring about a post (its first
// reader arrives, its last one leaves) while links are partitioned or reset
// and while nodes restart; views converge as for any other fault, nobody is
// shown twice, and a node without a room ends up receiving no deltas.
func TestFaultsInterest(t *testing.T) {
	w := startWorld(t, "a", "b", "c")
	w.join("a")
	w.join("c")
	w.converge(5*time.Second, "the cluster to show everyone")
	b := w.nodes["b"]

	// Subscribe racing a partition: b's first reader arrives while a and
	// b cannot hear each other directly (its Interest sent to a directly
	// is lost), a's readers change meanwhile; c relays between them
	// (actors/cluster_relay.go), so b's reader sees a's within staleBound
	// and a's see it.
	w.markFrames()
	w.blackHole("a", "b", true)
	w.blackHole("b", "a", true)
	onB := w.join("b")
	w.join("a")
	w.scrollAll()
	w.converge(staleBound, "b's new reader to see c's readers and a's through c")
	w.noFalseLeaves(always)
	w.healAll()
	healed := w.converge(healBound, "views after the heal (b subscribed during the partition)")
	w.noDuplicates()
	w.freshWelcomes()
	t.Logf("subscribe during an a↔b partition: converged %v after the heal", healed)

	// Unsubscribe racing a partition: b's last reader leaves while cut.
	w.blackHole("a", "b", true)
	w.blackHole("b", "a", true)
	w.leave(onB)
	w.scrollAll()
	w.converge(staleBound, "b's reader gone from a and c")
	w.healAll()
	w.converge(healBound, "views after the heal (b unsubscribed during the partition)")
	w.deltasStopped(w.readers[0], b)

	// Subscribe and unsubscribe across resets of every link.
	w.markFrames()
	for i := range 4 {
		for _, p := range w.proxies {
			p.Reset()
		}
		r := w.join("b")
		w.scrollAll()
		w.converge(staleBound, fmt.Sprintf("views after reset %d and a subscribe", i))
		for _, p := range w.proxies {
			p.Reset()
		}
		w.leave(r)
	}
	w.noFalseLeaves(always)
	w.noDuplicates()
	w.converge(healBound, "views after the resets")
	w.deltasStopped(w.readers[0], b)

	// A restart of the node that cares (b) and of one it hears from (a):
	// each new incarnation learns the others' interest from their sync.
	w.join("b")
	w.converge(healBound, "b's reader seen")
	for _, id := range []string{"b", "a"} {
		n := w.nodes[id]
		w.readers = slices.DeleteFunc(w.readers, func(r *reader) bool { return r.n == n })
		if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = n.cmd.Wait()
		w.converge(staleBound, id+"'s readers gone after SIGTERM")
		n.start(t)
		w.formed()
		w.join(id)
		w.join(id)
		w.scrollAll()
		took := w.converge(healBound, "views after "+id+" restarted")
		w.noDuplicates()
		w.freshWelcomes()
		t.Logf("%s restarted: its readers and everyone else's converged %v after it formed again", id, took)
	}
}
