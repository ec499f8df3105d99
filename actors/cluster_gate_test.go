package actors

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/readtag/readtag/actors/clusterpb"
)

func TestGate(t *testing.T) {
	g := newGate("a", []Peer{{ID: "b", Addr: "127.0.0.1:2"}, {ID: "c", Addr: "127.0.0.1:3"}}, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b := actor.NewPID("127.0.0.1:2", "tracker/b")
	tracker, provider := actor.NewPID("127.0.0.1:1", "tracker/a"), actor.NewPID("127.0.0.1:1", "provider/a")
	fromB := &clusterpb.Envelope{Node: "b"}
	certFor := func(names ...string) peerInfo {
		return peerInfo{Addr: &net.TCPAddr{}, TLS: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{DNSNames: names}}}}
	}
	for _, tc := range []struct {
		peer           peerInfo
		target, sender *actor.PID
		msg            any
		want           string
	}{
		{peerInfo{}, tracker, b, fromB, ""},
		{certFor("b"), provider, actor.NewPID("127.0.0.1:2", "provider/b"), fromB, ""},
		{certFor("c"), tracker, b, fromB, "certificate does not name the node it claims"},
		{certFor(), tracker, b, fromB, "certificate does not name the node it claims"},
		{certFor("b"), tracker, actor.NewPID("127.0.0.1:3", "tracker/c"), fromB, "sender does not belong to the node it claims"},
		{certFor("b"), tracker, nil, fromB, "sender does not belong to the node it claims"},
		{certFor("b"), tracker, b, &clusterpb.Envelope{Node: "x"}, "not from a peer"},
		{certFor("a"), tracker, actor.NewPID("127.0.0.1:1", "tracker/a"), &clusterpb.Envelope{Node: "a"}, "not from a peer"},
		{certFor("b"), actor.NewPID("127.0.0.1:1", "cluster/a"), b, fromB, "not for this node's tracker or provider"},
		{certFor("b"), actor.NewPID("127.0.0.1:1", "rooms/a"), b, fromB, "not for this node's tracker or provider"},
		{certFor("b"), actor.NewPID("127.0.0.1:1", "cluster/a"), b, &cluster.Members{}, "not a readtag message"},
		{certFor("b"), actor.NewPID("127.0.0.1:1", "cluster/a"), b, &cluster.Deactivation{}, "not a readtag message"},
		{certFor("b"), actor.NewPID("127.0.0.1:1", "cluster/a"), b, &cluster.Activation{}, "not a readtag message"},
		{certFor("b"), actor.NewPID("127.0.0.1:1", "cluster/a"), b, &cluster.ActorTopology{}, "not a readtag message"},
		{certFor("b"), tracker, b, &actor.PID{}, "not a readtag message"},
	} {
		if got := g.check(tc.peer, tc.target, tc.sender, tc.msg); got != tc.want {
			t.Errorf("%v → %v from %v: %q, want %q", tc.msg, tc.target, tc.sender, got, tc.want)
		}
	}
}

// TestAgentGuard: Hollywood's agent sees a member list only from this
// node's provider, and never activation messages.
func TestAgentGuard(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	inner := func() actor.Receiver {
		return receiverFunc(func(c *actor.Context) {
			if in, ok := c.Message().(inspect); ok {
				close(in.done)
				return
			}
			mu.Lock()
			got = append(got, fmt.Sprintf("%T from %s", c.Message(), c.Sender().GetID()))
			mu.Unlock()
		})
	}
	agent := e.Spawn(guardAgent(inner, "provider/a"), "cluster", actor.WithID("a"))
	prov := e.SpawnFunc(func(*actor.Context) {}, "provider", actor.WithID("a"))
	other := e.SpawnFunc(func(*actor.Context) {}, "tracker", actor.WithID("a"))
	for _, msg := range []any{&cluster.Members{}, &cluster.Deactivation{}, &cluster.Activation{}, &cluster.ActorTopology{}, &cluster.ActivationRequest{}} {
		e.SendWithSender(agent, msg, other)
		e.SendWithSender(agent, msg, actor.NewPID("127.0.0.1:9", "provider/a"))
		e.SendWithSender(agent, msg, prov)
	}
	done := make(chan struct{})
	e.Send(agent, inspect{done: done})
	<-done
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"actor.Initialized from ", "actor.Started from ", "*cluster.Members from provider/a"}; !slices.Equal(got, want) {
		t.Errorf("the agent got %q, want %q", got, want)
	}
}

type receiverFunc func(*actor.Context)

func (f receiverFunc) Receive(c *actor.Context) { f(c) }
