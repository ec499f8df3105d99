//go:build faults

// Partitions that a third node carries (issue 23, item 7): with a→b
// working, b→a black-holed and c reaching both, b's messages for a go
// through c (actors/cluster_relay.go, docs/cluster.md "Relay"); the
// symmetric cases are in faults_test.go, a restart during one here.
package main

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestFaultsRelayOneWay: a, b, c with two readers each; b→a black-holed for
// relayFault. Every reader keeps seeing every other (within staleBound of
// each round of scrolls, and with no leave or join at all), a and b report
// each other up, a fresh reader anywhere is welcomed with everyone, c
// carries b's messages; after the heal the views agree within healBound,
// still without a leave or a join, and nobody was shown twice.
func TestFaultsRelayOneWay(t *testing.T) {
	const relayFault = 12 * time.Second // four failure timeouts
	w := startWorld(t, "a", "b", "c")
	w.readersOn(2)
	w.converge(5*time.Second, "the cluster to show everyone")
	w.markFrames()
	start := time.Now()
	w.blackHole("b", "a", true)
	var slowest time.Duration
	rounds := 0
	for time.Since(start) < relayFault {
		w.scrollAll()
		slowest = max(slowest, w.converge(staleBound, "every reader to see every scroll with b→a black-holed"))
		rounds++
		time.Sleep(250 * time.Millisecond) // the scrolls' rhythm, not a wait for a result
	}
	for _, pair := range [][2]string{{"a", "b"}, {"b", "a"}} {
		if st, ok := status(w.nodes[pair[0]]); !ok || st.state(pair[1]) != "up" {
			t.Errorf("%v into the fault %s reports %s %q, want up", time.Since(start).Round(time.Millisecond), pair[0], pair[1], st.state(pair[1]))
		}
	}
	w.join("b") // a reader arriving during the fault reaches a through c
	w.converge(staleBound, "a reader who joined b during the fault, everywhere")
	w.freshWelcomes()
	w.noFalseLeaves(always)
	carried, _ := strconv.Atoi(metric(w.nodes["c"], "readtag_cluster_relay_carried_total"))
	if carried == 0 {
		t.Error("c carried nothing")
	}
	w.healAll()
	healed := w.converge(healBound, "views after the heal")
	w.scrollAll()
	w.converge(healBound, "scrolls after the heal")
	w.noFalseLeaves(always)
	w.noDuplicates()
	w.freshWelcomes()
	t.Logf("b→a black-holed for %v: %d rounds of scrolls, each on every screen within %v at worst, no leave or join; c carried %d messages (a took %s, b sent %s through c); converged %v after the heal",
		relayFault, rounds, slowest, carried, metric(w.nodes["a"], "readtag_cluster_relay_delivered_total"), metric(w.nodes["b"], "readtag_cluster_relay_sent_total"), healed)
}

// TestFaultsRelayRestart: a node restarted while it reaches a peer only
// through a relay. a, b, c with two readers each; a↔b black-holed both
// ways, c relaying between them; b is killed (SIGKILL: no goodbye) and
// started again, a new incarnation that never reaches a directly. b's old
// readers leave every screen; then every node reports every peer up, the
// new b's readers show on a and a's on b through c, without a leave or a
// join for the fault's remaining time; after the heal the views agree and
// nobody was shown twice.
func TestFaultsRelayRestart(t *testing.T) {
	w := startWorld(t, "a", "b", "c")
	w.readersOn(2)
	w.converge(5*time.Second, "the cluster to show everyone")
	w.blackHole("a", "b", true)
	w.blackHole("b", "a", true)
	relayed := within(t, staleBound, "c to relay between a and b", func() bool {
		n, _ := strconv.Atoi(metric(w.nodes["c"], "readtag_cluster_relay_carried_total"))
		return n > 0
	})
	w.converge(staleBound, "everyone on every screen through c")

	b := w.nodes["b"]
	w.readers = slices.DeleteFunc(w.readers, func(r *reader) bool { return r.n == b })
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = b.cmd.Wait()
	gone := w.converge(staleBound, "b's readers gone after SIGKILL")
	b.start(t)
	formed := w.formed()
	w.join("b")
	w.join("b")
	w.scrollAll()
	shown := w.converge(staleBound, "the new b's readers on every screen, and everyone's on b, with a↔b still cut")
	w.markFrames()
	slowest, gap := w.scrollRounds(relayWatch)
	w.relayedUp(relayWatch)
	w.noFalseLeaves(always)
	w.healAll()
	healed := w.converge(healBound, "views after the heal")
	w.noDuplicates()
	w.freshWelcomes()
	t.Logf("a↔b cut: c relayed %v after the cut; b killed: its readers gone %v later; b restarted: every peer up %v after its start, its new readers everywhere %v later, then missing for %v at most over %v, each round of scrolls everywhere within %v; c carried %s, a took %s; converged %v after the heal",
		relayed, gone, formed, shown, gap, relayWatch, slowest, metric(w.nodes["c"], "readtag_cluster_relay_carried_total"), metric(w.nodes["a"], "readtag_cluster_relay_delivered_total"), healed)
}
