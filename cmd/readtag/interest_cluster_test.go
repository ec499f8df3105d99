package main

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/readtag/readtag/web/client"
)

// told counts how often c was told of each other reader: in its welcome,
// by a join, or in a crowd frame's joins.
func told(c *client.Conn) map[string]int {
	n := map[string]int{}
	for _, f := range c.Frames() {
		switch f.Type {
		case "welcome":
			for _, r := range f.Readers {
				n[r.ID]++
			}
		case "join":
			if f.Reader != nil {
				n[f.Reader.ID]++
			}
		}
		for _, r := range f.Join {
			n[r.ID]++
		}
	}
	return n
}

// TestClusterInterest: readers of a post on a and b see each other; c, with
// no room for the post, receives none of its deltas (its
// readtag_cluster_deltas_received_total stays 0) but its index counts it;
// a reader then opening the post on c is told of every reader already
// there exactly once, and they of it.
func TestClusterInterest(t *testing.T) {
	nodes := startNodes(t, "a", "b", "c")
	a, b, c := nodes[0], nodes[1], nodes[2]
	within(t, 30*time.Second, "the cluster to form", func() bool {
		for _, n := range nodes {
			ready, members, _ := n.health()
			if !ready || len(members) != 3 {
				return false
			}
		}
		return true
	})
	const post, other = "actors-in-go", "reading-together"
	var readers []*client.Conn
	for _, n := range []*node{a, a, b, b} {
		readers = append(readers, dial(t, n, post))
	}
	onC := dial(t, c, other)
	for i, r := range readers {
		_ = r.Scroll(float64(i+1) / 10)
	}
	within(t, 10*time.Second, "readers on a and b to see each other", func() bool {
		for _, r := range readers {
			if !slices.Equal(ids(r), others(readers, r)) {
				return false
			}
		}
		return true
	})
	for i := range 40 {
		_ = readers[i%4].Scroll(float64(i) / 40)
	}
	index := watchCountsAt(t, c, "/ws/index", c.url())
	within(t, 10*time.Second, "c's index to count every post's readers", func() bool {
		return maps.Equal(index.get(), map[string]int{post: 4, other: 1})
	})
	// A barrier: readers of a third post on a and b. Their counts reach c
	// in the same ordered streams as any delta a and b sent c before.
	dial(t, a, "fractions-not-pixels")
	dial(t, b, "fractions-not-pixels")
	within(t, 10*time.Second, "c to count the barrier's readers", func() bool {
		return index.get()["fractions-not-pixels"] == 2
	})
	if n := metricOf(t, c, "readtag_cluster_deltas_received_total"); n != 0 {
		t.Errorf("c, with no room for %s or the barrier's post, received %v deltas", post, n)
	}
	if n := metricOf(t, c, "readtag_cluster_counts_received_total"); n == 0 {
		t.Error("c received no Counts")
	}
	t.Logf("bytes received by a, b, c: %v, %v, %v", metricOf(t, a, "readtag_cluster_bytes_received_total"),
		metricOf(t, b, "readtag_cluster_bytes_received_total"), metricOf(t, c, "readtag_cluster_bytes_received_total"))

	late := dial(t, c, post)
	w, _, err := late.WaitFrame(context.Background(), "welcome", 0)
	if err != nil {
		t.Fatal(err)
	}
	everyone := append(append([]*client.Conn{}, readers...), late)
	within(t, 10*time.Second, "the late reader on c and the others to see each other", func() bool {
		for _, r := range everyone {
			if !slices.Equal(ids(r), others(everyone, r)) {
				return false
			}
		}
		return true
	})
	// Its welcome holds them unless a or b took longer than a heartbeat to
	// answer c's Interest (then they come as joins): each once either way.
	t.Logf("the late reader's welcome listed %d of the %d readers already there", len(w.Readers), len(readers))
	for id, n := range told(late) {
		if n != 1 {
			t.Errorf("the late reader was told of %s %d times", id, n)
		}
	}
	_ = onC.Close()
}
