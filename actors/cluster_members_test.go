package actors

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag/actors/clusterpb"
)

// TestGateJoining: a node that admits joiners takes an unknown node id only
// from a certificate that names it, and only from its own PID; a node
// without seeds takes configured peers only. Every Envelope must be within
// one protocol version of ours.
func TestGateJoining(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open, closed := newGate("a", nil, true, log), newGate("a", nil, false, log)
	tracker := actor.NewPID("127.0.0.1:1", "tracker/a")
	fromE := actor.NewPID("127.0.0.1:5", "tracker/e")
	certFor := func(names ...string) peerInfo {
		return peerInfo{Addr: &net.TCPAddr{}, TLS: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{DNSNames: names}}}}
	}
	for _, tc := range []struct {
		g      *gate
		peer   peerInfo
		sender *actor.PID
		env    *clusterpb.Envelope
		want   string
	}{
		{open, certFor("e"), fromE, &clusterpb.Envelope{Node: "e"}, ""},
		{open, certFor("e"), fromE, &clusterpb.Envelope{Node: "e", Version: protocolVersion + 1}, ""},
		{open, certFor("e"), fromE, &clusterpb.Envelope{Node: "e", Version: protocolVersion + 2}, "protocol version too far apart"},
		{open, certFor("f"), fromE, &clusterpb.Envelope{Node: "e"}, "certificate does not name the node it claims"},
		{open, certFor("e"), actor.NewPID("127.0.0.1:5", "tracker/f"), &clusterpb.Envelope{Node: "e"}, "sender does not belong to the node it claims"},
		{open, certFor("E!"), actor.NewPID("127.0.0.1:5", "tracker/E!"), &clusterpb.Envelope{Node: "E!"}, "not from a peer"},
		{closed, certFor("e"), fromE, &clusterpb.Envelope{Node: "e"}, "not from a peer"},
	} {
		if got := tc.g.check(tc.peer, tracker, tc.sender, tc.env); got != tc.want {
			t.Errorf("open %v, %v from %v: %q, want %q", tc.g.open, tc.env, tc.sender, got, tc.want)
		}
	}
}

// TestCertsAdmitJoiners: with AdmitJoiners a certificate of the cluster CA
// naming any node id is accepted, one of another CA never; without it only
// the peers' are.
func TestCertsAdmitJoiners(t *testing.T) {
	dir, other := testCerts(t, "a", "b", "e"), testCerts(t, "e")
	c, err := LoadClusterCerts(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "a.crt"), filepath.Join(dir, "a.key"), "a", []Peer{{ID: "b", Addr: "127.0.0.1:2"}})
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(dir, id string) []*x509.Certificate {
		b, err := os.ReadFile(filepath.Join(dir, id+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return []*x509.Certificate{cert}
	}
	ca := c.cur.Load().ca
	check := func(what string, chain []*x509.Certificate, ok bool) {
		t.Helper()
		if err := c.verify(ca, chain); (err == nil) != ok {
			t.Errorf("%s (open %v): err %v, want ok %v", what, c.open.Load(), err, ok)
		}
	}
	check("peer b", leaf(dir, "b"), true)
	check("unknown e", leaf(dir, "e"), false)
	c.AdmitJoiners()
	check("peer b", leaf(dir, "b"), true)
	check("unknown e", leaf(dir, "e"), true)
	check("e of another CA", leaf(other, "e"), false)
}

// The tracker keeps, per peer, when it last answered a sync, our stream's
// seq and what the peer wants. It drops them for a node the provider has
// forgotten (no member, no link), and keeps them for a configured peer that
// is merely down and for a member.
func TestTrackerDropsForgottenNodes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := newLinks(nil, ClusterConfig{Peers: []Peer{{ID: "b", Addr: "127.0.0.1:1"}}}, log, &clusterStats{})
	defer l.close(0)
	l.add("c", "127.0.0.1:2")
	l.add("d", "127.0.0.1:3")
	tr := &tracker{links: l, interest: newInterest(), peers: map[string]*peerState{"c": newPeerState()}, answered: make(map[string]time.Time)}
	for _, node := range []string{"b", "c", "d"} {
		tr.answered[node] = time.Now()
		tr.out[node] = 7
		tr.wants[node] = &peerWant{posts: map[string]bool{"post": true}}
	}
	l.remove("d") // the provider forgot d
	tr.dropForgotten()
	for _, node := range []string{"b", "c"} {
		if _, ok := tr.answered[node]; !ok || tr.out[node] != 7 || tr.wants[node] == nil {
			t.Errorf("%s's entries dropped", node)
		}
	}
	if _, ok := tr.answered["d"]; ok || tr.out["d"] != 0 || tr.wants["d"] != nil {
		t.Errorf("forgotten d kept: answered %v, out %d, wants %v", ok, tr.out["d"], tr.wants["d"])
	}
}
