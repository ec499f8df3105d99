package main

import (
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag/actors/clusterpb"
)

// TestClusterOlderPeerCounted: c plays a node older than interest
// replication (an empty SyncRequest, heartbeats without hears, every post's
// joins and leaves, no Counts), with readers of a post a has no room for.
// a's index counts them, follows c's leave, and drops them when c goes
// silent (the failure timeout).
func TestClusterOlderPeerCounted(t *testing.T) {
	p := startPairWithFake(t)
	a := p.a
	const post = "reading-together" // no reader on a or b: a has no room for it
	fromC := func(body *clusterpb.Envelope) msg {
		return msg{to: pid(a, "tracker/a"), from: actor.NewPID(p.fake.addr, "tracker/c"), body: body}
	}
	const inc = 41
	syncReq := envelope(t, fromC(&clusterpb.Envelope{Node: "c", Incarnation: inc, Body: &clusterpb.Envelope_SyncRequest{SyncRequest: &clusterpb.SyncRequest{}}}))
	snap := envelope(t, fromC(&clusterpb.Envelope{Node: "c", Incarnation: inc, Body: &clusterpb.Envelope_Snapshot{Snapshot: &clusterpb.Snapshot{
		Posts: []*clusterpb.PostReaders{{Post: post, Readers: []*clusterpb.Reader{{Id: "c-0", Color: "#123456", Position: 0.1}, {Id: "c-1", Color: "#123456", Position: 0.2}}}}}}}))
	leave := envelope(t, fromC(&clusterpb.Envelope{Node: "c", Incarnation: inc, Body: &clusterpb.Envelope_Deltas{Deltas: &clusterpb.Deltas{Seq: 1,
		Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_LEAVE, Post: post, Reader: &clusterpb.Reader{Id: "c-0"}}}}}}))

	c := connectAsC(t, p)
	stop := sync.OnceFunc(c.heartbeats(t, p, inc))
	defer stop()
	within(t, 10*time.Second, "a to count c a member", func() bool {
		_, members, _ := a.health()
		return slices.Contains(members, "c")
	})
	index := watchCountsAt(t, a, "/ws/index", a.url())
	// Sent until taken: a takes c's snapshot only while it waits for one
	// (from when its tracker has c as a member), and ignores the others.
	within(t, 10*time.Second, "a's index to count c's readers", func() bool {
		c.blast(t, syncReq, snap)
		return maps.Equal(index.get(), map[string]int{"actors-in-go": 2, post: 2})
	})
	c.blast(t, leave)
	within(t, 10*time.Second, "a's index to follow c's leave", func() bool {
		return maps.Equal(index.get(), map[string]int{"actors-in-go": 2, post: 1})
	})
	stop()
	within(t, 15*time.Second, "a's index to drop c's readers when c goes silent", func() bool {
		return maps.Equal(index.get(), map[string]int{"actors-in-go": 2})
	})
}
