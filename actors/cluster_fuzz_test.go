package actors

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/testutil"
)

// The cluster Envelope handling of the tracker and the provider, fed
// arbitrary bytes from a configured peer (b): whatever decodes is handled
// without a panic, and the actor's state keeps its invariants.

// underFuzz wraps the actor under test: it recovers panics as failures and
// runs checks in the actor's own goroutine (no race with its timers).
type underFuzz struct {
	inner  actor.Receiver
	panics *atomic.Value // string: the last panic
}

type inspect struct {
	fn   func(actor.Receiver)
	done chan struct{}
}

func (u *underFuzz) Receive(c *actor.Context) {
	if in, ok := c.Message().(inspect); ok {
		in.fn(u.inner)
		close(in.done)
		return
	}
	defer func() {
		if v := recover(); v != nil {
			u.panics.Store(fmt.Sprint(v))
		}
	}()
	u.inner.Receive(c)
}

type fuzzNode struct {
	engine *actor.Engine
	sys    *system
	links  *links // never started: what the actors send stays queued
	cfg    ClusterConfig
	stats  clusterStats
	panics atomic.Value
}

func newFuzzNode(t testing.TB) *fuzzNode {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	// b's address has nobody listening.
	addr := testutil.FreeAddr(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := &fuzzNode{engine: e, sys: newSystem(e, Config{Logger: log, NodeID: "a"}),
		cfg: ClusterConfig{Addr: "127.0.0.1:1", Peers: []Peer{{ID: "b", Addr: addr}}, Heartbeat: 500 * time.Millisecond, PeerTimeout: 3 * time.Second, ReadyAfter: time.Second}}
	n.links = newLinks(e, n.cfg, log, &n.stats)
	return n
}

func (n *fuzzNode) spawn(p actor.Producer, kind string) *actor.PID {
	return n.engine.Spawn(func() actor.Receiver { return &underFuzz{inner: p(), panics: &n.panics} }, kind, actor.WithID("a"))
}

// check runs fn inside the actor and fails on any panic so far.
func (n *fuzzNode) check(t *testing.T, pid *actor.PID, fn func(actor.Receiver)) {
	t.Helper()
	in := inspect{fn: fn, done: make(chan struct{})}
	n.engine.Send(pid, in)
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the actor did not answer")
	}
	if v := n.panics.Load(); v != nil {
		t.Fatalf("panic: %v", v)
	}
}

// seedEnvelopes are valid Envelopes of every body, from b and from others.
func seedEnvelopes(f *testing.F) {
	reader := &clusterpb.Reader{Id: "r1", Color: "#abc", Position: 0.5}
	for _, env := range []*clusterpb.Envelope{
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{Seq: 3}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_SyncRequest{SyncRequest: &clusterpb.SyncRequest{}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Snapshot{Snapshot: &clusterpb.Snapshot{Seq: 2, Posts: []*clusterpb.PostReaders{{Post: "hello", Readers: []*clusterpb.Reader{reader}}}}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Deltas{Deltas: &clusterpb.Deltas{Seq: 3, Deltas: []*clusterpb.Delta{
			{Kind: clusterpb.Delta_KIND_JOIN, Post: "hello", Reader: reader},
			{Kind: clusterpb.Delta_KIND_MOVE, Post: "hello", Reader: &clusterpb.Reader{Id: "r1", Position: 2}},
			{Kind: clusterpb.Delta_KIND_LEAVE, Post: "hello", Reader: &clusterpb.Reader{Id: "r1"}},
			{Kind: 9, Post: "../x", Reader: &clusterpb.Reader{Id: ""}},
		}}}},
		{Node: "b", Incarnation: 2, Body: &clusterpb.Envelope_Snapshot{Snapshot: &clusterpb.Snapshot{}}},
		{Node: "a", Incarnation: 1, Body: &clusterpb.Envelope_SyncRequest{SyncRequest: &clusterpb.SyncRequest{}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{Seq: 1, Hears: proto.Uint64(5), Addr: "127.0.0.1:9"}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Goodbye{Goodbye: &clusterpb.Goodbye{}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_SyncRequest{SyncRequest: &clusterpb.SyncRequest{Interest: true, Posts: []string{"hello", "../x"}}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Interest{Interest: &clusterpb.Interest{Add: []string{"hello", "x/y"}, Remove: []string{"hello"}}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Snapshot{Snapshot: &clusterpb.Snapshot{Seq: 3, Partial: true, Posts: []*clusterpb.PostReaders{{Post: "hello", Readers: []*clusterpb.Reader{reader}}}}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Counts{Counts: &clusterpb.Counts{Seq: 4, Full: true, Posts: []*clusterpb.PostCount{{Post: "hello", Readers: 1 << 31}, {Post: "", Readers: 1}}}}},
		// cluster-relay: a Relay to carry, one carried to us (its inner a heartbeat of a node we do not
		// know, then of the relay itself), and one with a Relay inside
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: "c", Kind: kindTracker, Envelope: &clusterpb.Envelope{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Deltas{Deltas: &clusterpb.Deltas{Seq: 1}}}}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: "a", From: "c", Kind: kindProvider, Envelope: &clusterpb.Envelope{Node: "c", Incarnation: 3, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{Hears: proto.Uint64(5), Relayed: true}}}}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: "a", From: "b", Kind: kindProvider, Envelope: &clusterpb.Envelope{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}}}},
		{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: "a", From: "c", Kind: kindTracker, Envelope: &clusterpb.Envelope{Node: "c", Body: &clusterpb.Envelope_Relay{Relay: &clusterpb.Relay{To: "a"}}}}}},
		{Node: "stranger"},
		{},
	} {
		b, err := proto.Marshal(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzTrackerEnvelope(f *testing.F) {
	seedEnvelopes(f)
	n := newFuzzNode(f)
	tr := n.spawn(newTracker(n.sys, "a", n.links, n.cfg, &n.stats), kindTracker)
	room := n.engine.SpawnFunc(func(*actor.Context) {}, "room", actor.WithID("hello"))
	n.engine.Send(tr, cluster.MemberJoinEvent{Member: &cluster.Member{ID: "b", Host: n.cfg.Peers[0].Addr}})
	n.engine.Send(tr, roomSubscribe{post: "hello", room: room})
	from := actor.NewPID(n.cfg.Peers[0].Addr, kindTracker+"/b")
	f.Fuzz(func(t *testing.T, data []byte) {
		var env clusterpb.Envelope
		if proto.Unmarshal(data, &env) != nil {
			return
		}
		n.engine.SendWithSender(tr, &env, from)
		n.check(t, tr, func(r actor.Receiver) {
			tk := r.(*tracker)
			for node, p := range tk.peers {
				if node != "b" {
					t.Errorf("tracker counts %q as a peer", node)
				}
				for id, e := range p.readers {
					if id != e.reader.ID || !validRemote(e.post, pbReader(e.reader)) {
						t.Errorf("tracker keeps an invalid reader %q: %+v", id, e)
					}
				}
			}
			if len(tk.local) != 0 {
				t.Errorf("a peer's message added local readers: %v", tk.local)
			}
		})
	})
}

func FuzzProviderEnvelope(f *testing.F) {
	seedEnvelopes(f)
	n := newFuzzNode(f)
	agent := n.engine.SpawnFunc(func(*actor.Context) {}, "cluster", actor.WithID("a"))
	self := &cluster.Member{ID: "a", Host: n.cfg.Addr, Kinds: []string{}}
	st := &clusterState{}
	prov := n.spawn(newProvider(n.sys, n.cfg, self, agent, n.links, st), kindProvider)
	from := actor.NewPID(n.cfg.Peers[0].Addr, kindProvider+"/b")
	f.Fuzz(func(t *testing.T, data []byte) {
		var env clusterpb.Envelope
		if proto.Unmarshal(data, &env) != nil {
			return
		}
		n.engine.SendWithSender(prov, &env, from)
		n.check(t, prov, func(r actor.Receiver) {
			p := r.(*provider)
			if len(p.peers) != 1 || p.peers["b"] == nil || p.peers["b"].ID != "b" || p.self.ID != "a" {
				t.Errorf("the provider's peers changed: %v", p.peers)
			}
		})
		if m := st.members.Load(); m != nil {
			for _, id := range *m {
				if id != "a" && id != "b" {
					t.Errorf("member %q", id)
				}
			}
		}
	})
}
