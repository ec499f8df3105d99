package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web/client"
)

// Nodes that join a running cluster, on real processes (docs/cluster.md).

// joinNode makes (but does not start) node id serving HTTP on httpAddr and
// the cluster on clusterAddr, with its certificate from certs and the
// flags extra.
func joinNode(t *testing.T, certs, id, httpAddr, clusterAddr string, extra ...string) *node {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), id+".log"))
	if err != nil {
		t.Fatal(err)
	}
	n := &node{id: id, http: httpAddr, cluster: clusterAddr, log: f}
	n.args = append([]string{"--addr", n.http, "--node-id", id, "--cluster-addr", n.cluster, "--log-format", "json"}, tlsArgs(certs, id)...)
	n.args = append(n.args, extra...)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(f.Name())
			t.Logf("--- log of node %s (last 4 KB):\n%s", id, tail(b, 4096))
		}
	})
	return n
}

// members is what n's /healthz lists (nil while it does not answer).
func members(n *node) []string {
	_, m, _ := n.health()
	return m
}

// sees reports whether reader c sees exactly the readers want.
func sees(c *client.Conn, want ...*client.Conn) bool {
	return slices.Equal(ids(c), others(append(want, c), c))
}

// seesAll reports whether every reader of readers sees all the others.
func seesAll(readers []*client.Conn) bool {
	for _, r := range readers {
		if !slices.Equal(ids(r), others(readers, r)) {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds or d has passed, and says how long it
// took and whether it held.
func waitFor(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start), true
}

// explainViews logs what each reader sees and each node's cluster counters
// that are not zero, for a failure that is not readers' names alone.
func explainViews(t *testing.T, readers []*client.Conn, nodes []*node) {
	t.Helper()
	for _, r := range readers {
		t.Logf("reader %s sees %v, wants %v", r.You().ID, ids(r), others(readers, r))
	}
	for _, n := range nodes {
		resp, err := http.Get(n.url() + "/metrics")
		if err != nil {
			t.Logf("node %s: /metrics: %v", n.id, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "readtag_cluster_") && !strings.HasSuffix(l, " 0") && !strings.Contains(l, "_bytes") {
				t.Logf("node %s: %s", n.id, l)
			}
		}
	}
}

// idsOf are the nodes' ids, sorted.
func idsOf(nodes []*node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.id)
	}
	slices.Sort(out)
	return out
}

// joinAndLeave is the common part of the seed and DNS cases: the nodes
// running have a reader each on one post; c starts, and its reader and
// theirs must see each other; c stops (sig: SIGTERM, it says goodbye;
// SIGKILL, it vanishes) and its reader must leave their screens, and they
// must forget c. It logs how long each took.
func joinAndLeave(t *testing.T, running []*node, c *node, sig syscall.Signal) {
	t.Helper()
	const post = "actors-in-go"
	var readers []*client.Conn
	for _, n := range running {
		readers = append(readers, dial(t, n, post))
	}
	within(t, 10*time.Second, "the running nodes' readers to see each other", func() bool { return seesAll(readers) })

	started := time.Now()
	c.start(t)
	within(t, 15*time.Second, "c to serve", func() bool { _, _, ok := c.health(); return ok })
	onC := dial(t, c, post)
	all := append(slices.Clone(readers), onC)
	joined, ok := waitFor(20*time.Second, func() bool { return seesAll(all) })
	if !ok {
		explainViews(t, all, append(slices.Clone(running), c))
		t.Fatal("not within 20s: c's reader and the others to see each other")
	}
	fromStart := time.Since(started)
	everyone := idsOf(append(slices.Clone(running), c))
	within(t, 10*time.Second, "every node to list all as members", func() bool {
		for _, n := range append(slices.Clone(running), c) {
			if !slices.Equal(members(n), everyone) {
				return false
			}
		}
		return true
	})

	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	left := within(t, 10*time.Second, "c's reader to leave the others' screens", func() bool { return seesAll(readers) })
	_ = c.cmd.Wait()
	// After a goodbye c is forgotten once the failure timeout has passed;
	// vanished, after --cluster-forget-after.
	forgot := within(t, 40*time.Second, "the running nodes to forget c", func() bool {
		for _, n := range running {
			if slices.Contains(knownPeers(t, n), "c") {
				return false
			}
		}
		return true
	})
	t.Logf("%d nodes running; c's reader seen everywhere %v after it was welcomed (%v after c's process started); gone from the others %v after %v, c forgotten %v after it",
		len(running), joined.Round(time.Millisecond), fromStart.Round(time.Millisecond), left.Round(time.Millisecond), sig, (left + forgot).Round(time.Millisecond))
}

// knownPeers are the peers n's /metrics shows a state for: every peer it
// has not forgotten.
func knownPeers(t *testing.T, n *node) []string {
	t.Helper()
	var out []string
	for _, l := range metricLines(n, "readtag_cluster_peer_state") {
		if i := strings.Index(l, `peer="`); i >= 0 && strings.HasSuffix(l, " 1") {
			rest := l[i+len(`peer="`):]
			out = append(out, rest[:strings.IndexByte(rest, '"')])
		}
	}
	return out
}

// TestClusterJoinSeed: a, b and e run with a and b as seeds (e finds b
// through a's gossip); c joins through a alone, learns the others from a's
// gossip, and all readers see each other; c leaves. A node whose
// certificate another CA signed is refused.
func TestClusterJoinSeed(t *testing.T) {
	certs := makeCerts(t, "a", "b", "c", "e")
	foreign := makeCerts(t, "d")
	ports := testutil.FreeAddrs(t, 10)
	seeds := "--join=" + ports[1] + "," + ports[3]
	a := joinNode(t, certs, "a", ports[0], ports[1], seeds)
	b := joinNode(t, certs, "b", ports[2], ports[3], seeds)
	e := joinNode(t, certs, "e", ports[8], ports[9], "--join", ports[1])
	running := []*node{a, b, e}
	for _, n := range running {
		n.start(t)
	}
	within(t, 15*time.Second, "a, b and e to find each other through the seeds", func() bool {
		for _, n := range running {
			if !slices.Equal(members(n), []string{"a", "b", "e"}) {
				return false
			}
		}
		return true
	})
	c := joinNode(t, certs, "c", ports[4], ports[5], "--join", ports[1])
	joinAndLeave(t, running, c, syscall.SIGTERM)

	d := joinNode(t, foreign, "d", ports[6], ports[7], "--join", ports[1])
	d.start(t)
	within(t, 15*time.Second, "a to refuse d's certificate", func() bool {
		return len(logged(t, a, "remote connection refused: TLS handshake")) > 0
	})
	if m := members(a); slices.Contains(m, "d") {
		t.Fatalf("a took d, whose certificate another CA signed: members %v", m)
	}
	if _, m, _ := d.health(); slices.Contains(m, "a") {
		t.Fatalf("d took a: members %v", m)
	}
}

// TestClusterJoinDNS: a, b and c find each other through a DNS name (a
// fake resolver: a file of addresses, re-read at every resolution), each
// listening on its own loopback address and the same port, as pods behind
// a headless service do. c then vanishes (SIGKILL): its readers leave after
// the failure timeout, and it is forgotten after --cluster-forget-after.
func TestClusterJoinDNS(t *testing.T) {
	certs := makeCerts(t, "a", "b", "c")
	port := testutil.FreeAddrs(t, 1)[0]
	_, p, _ := net.SplitHostPort(port)
	https := testutil.FreeAddrs(t, 3)
	hosts := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, hosts, []byte("127.0.0.2\n127.0.0.3\n"))
	t.Setenv(testResolveEnv, hosts)
	dns, forget := "--peers-dns=readtag.test:"+p, "--cluster-forget-after=10s"
	a := joinNode(t, certs, "a", https[0], "127.0.0.2:"+p, dns, forget)
	b := joinNode(t, certs, "b", https[1], "127.0.0.3:"+p, dns, forget)
	a.start(t)
	b.start(t)
	within(t, 15*time.Second, "a and b to find each other by DNS", func() bool {
		return slices.Equal(members(a), []string{"a", "b"}) && slices.Equal(members(b), []string{"a", "b"})
	})
	// c's pod appears in the service when it starts.
	writeFile(t, hosts, []byte("127.0.0.2\n127.0.0.3\n127.0.0.4\n"))
	c := joinNode(t, certs, "c", https[2], "127.0.0.4:"+p, dns, forget)
	joinAndLeave(t, []*node{a, b}, c, syscall.SIGKILL)
}

// TestClusterGossipFlood: an authenticated node (c) lists 10,000 invented
// members in every heartbeat. a, which admits joiners, takes at most
// maxHearsay of them at a time (none shown as members or missing), dials
// only those, and keeps serving b's reader.
func TestClusterGossipFlood(t *testing.T) {
	certs := makeCerts(t, "a", "b", "c")
	ports := testutil.FreeAddrs(t, 4)
	seeds := "--join=" + ports[1] + "," + ports[3]
	a := joinNode(t, certs, "a", ports[0], ports[1], seeds)
	b := joinNode(t, certs, "b", ports[2], ports[3], seeds)
	a.start(t)
	b.start(t)
	within(t, 15*time.Second, "a and b to find each other", func() bool {
		return slices.Equal(members(a), []string{"a", "b"}) && slices.Equal(members(b), []string{"a", "b"})
	})
	const post = "actors-in-go"
	onA, onB := dial(t, a, post), dial(t, b, post)
	within(t, 10*time.Second, "a's and b's readers to see each other", func() bool { return sees(onA, onB) && sees(onB, onA) })

	o, err := connect(a.cluster, clusterTLSFor(t, certs, "c"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	invented := make([]*clusterpb.Member, 10000)
	for i := range invented {
		invented[i] = &clusterpb.Member{Node: fmt.Sprintf("x%d", i), Addr: "127.0.0.1:1"}
	}
	from := actor.NewPID("127.0.0.1:9", "provider/c")
	for i := range 20 {
		body := &clusterpb.Envelope{Node: "c", Incarnation: 7, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{
			Addr: "127.0.0.1:9", Members: invented[i*500:]}}}
		if err := o.stream.Send(envelope(t, msg{to: pid(a, "provider/a"), from: from, body: body})); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		time.Sleep(100 * time.Millisecond) // a heartbeat's pace, so the budget lets them through
	}
	within(t, 10*time.Second, "a to refuse gossiped names", func() bool { return metricOf(t, a, "readtag_cluster_members_refused_total") > 0 })
	if n := metricOf(t, a, "readtag_cluster_members_joined_total"); n > 2+8 { // b, c, and maxHearsay invented
		t.Errorf("a took %v members from the flood, want at most maxHearsay (8) invented ones", n)
	}
	for _, m := range knownPeers(t, a) {
		if strings.HasPrefix(m, "x") {
			t.Errorf("a lists invented member %s in /metrics", m)
		}
	}
	if !sees(onA, onB) || !sees(onB, onA) {
		t.Errorf("a's and b's readers lost each other: a sees %v, b sees %v", ids(onA), ids(onB))
	}
}

// rawEnvelope is an envelope of one message with the bytes data, sent as a
// readtag Envelope: what a node of another version would send.
func rawEnvelope(to, from *actor.PID, data []byte) *remote.Envelope {
	return &remote.Envelope{TypeNames: []string{string(proto.MessageName(&clusterpb.Envelope{}))}, Targets: []*actor.PID{to}, Senders: []*actor.PID{from},
		Messages: []*remote.Message{{Data: data}}}
}

// futureHeartbeat is c's heartbeat at protocol version v, with a field of
// the Heartbeat and one of the Envelope that this version does not know.
func futureHeartbeat(t *testing.T, v uint32) []byte {
	t.Helper()
	hb, err := proto.Marshal(&clusterpb.Heartbeat{Addr: ""})
	if err != nil {
		t.Fatal(err)
	}
	hb = protowire.AppendString(protowire.AppendTag(hb, 40, protowire.BytesType), "a field from the future")
	env, err := proto.Marshal(&clusterpb.Envelope{Node: "c", Incarnation: 7, Version: v})
	if err != nil {
		t.Fatal(err)
	}
	env = protowire.AppendBytes(protowire.AppendTag(env, 13, protowire.BytesType), hb)
	return protowire.AppendVarint(protowire.AppendTag(env, 90, protowire.VarintType), 42)
}

// futureBody is an Envelope at version v whose body is a kind this version
// does not know (oneof field 30).
func futureBody(t *testing.T, v uint32) []byte {
	t.Helper()
	env, err := proto.Marshal(&clusterpb.Envelope{Node: "c", Incarnation: 7, Version: v})
	if err != nil {
		t.Fatal(err)
	}
	return protowire.AppendBytes(protowire.AppendTag(env, 30, protowire.BytesType), []byte{0x0a, 0x01, 'x'})
}

// TestClusterVersions: a peer two protocol versions ahead is refused,
// logged once; one version ahead, sending fields and a body kind a does
// not know, is taken as a member, and a keeps serving.
func TestClusterVersions(t *testing.T) {
	p := startPairWithFake(t)
	a := p.a
	o, err := connect(a.cluster, clusterTLSFor(t, p.certs, "c"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	const ours = 1
	send := func(v uint32) {
		t.Helper()
		from := actor.NewPID(p.fake.addr, "provider/c")
		for _, data := range [][]byte{futureHeartbeat(t, v), futureBody(t, v)} {
			if err := o.stream.Send(rawEnvelope(pid(a, "provider/a"), from, data)); err != nil {
				t.Fatal(err)
			}
		}
		if err := o.stream.Send(rawEnvelope(pid(a, "tracker/a"), actor.NewPID(p.fake.addr, "tracker/c"), futureBody(t, v))); err != nil {
			t.Fatal(err)
		}
	}
	const refused = "cluster peer refused: its protocol version is two or more from ours (upgrade one version at a time, docs/cluster.md)"
	for i := 0; len(logged(t, a, refused)) == 0; i++ {
		if i == 100 {
			t.Fatal("a did not log the refusal of a peer two versions ahead")
		}
		send(ours + 2)
		time.Sleep(100 * time.Millisecond)
	}
	for range 10 {
		send(ours + 2)
		time.Sleep(100 * time.Millisecond)
	}
	if m := members(a); slices.Contains(m, "c") {
		t.Fatalf("a took c at version %d: members %v", ours+2, m)
	}
	if n := len(logged(t, a, refused)); n != 1 {
		t.Errorf("a logged the refusal %d times in one episode, want once", n)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Contains(members(a), "c") {
		if time.Now().After(deadline) {
			t.Fatalf("a did not take c at version %d: members %v", ours+1, members(a))
		}
		send(ours + 1)
		time.Sleep(100 * time.Millisecond)
	}
	if !sees(p.onA, p.onB) || !sees(p.onB, p.onA) {
		t.Errorf("a's and b's readers lost each other: a sees %v, b sees %v", ids(p.onA), ids(p.onB))
	}
}

// TestBadJoinFlags: each bad --join, --peers-dns, --cluster-forget-after or
// --cluster-max-members is a usage error that says what is wrong.
func TestBadJoinFlags(t *testing.T) {
	certs := makeCerts(t, "a")
	cluster := append([]string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001"}, tlsArgs(certs, "a")...)
	insecure := []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001", "--cluster-insecure"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--join", "127.0.0.1:7002"}, "--join and --peers-dns need cluster mode"},
		{append(slices.Clone(cluster), "--join", "127.0.0.1"), `--join: "127.0.0.1": want host:port`},
		{append(slices.Clone(cluster), "--join", "b@127.0.0.1:99999"), `--join: "b@127.0.0.1:99999": port`},
		{append(slices.Clone(insecure), "--join", "b@10.0.0.2:7002"), "is not a loopback address"},
		{append(slices.Clone(insecure), "--peers-dns", "readtag.test:7000"), "--peers-dns needs mutual TLS"},
		{append(slices.Clone(cluster), "--peers-dns", "readtag.test"), `--peers-dns "readtag.test": want host:port`},
		{append(slices.Clone(cluster), "--cluster-forget-after", "1s"), "--cluster-forget-after \"1s\": want a duration from 10s to 24h"},
		{append(slices.Clone(cluster), "--cluster-forget-after", "soon"), "--cluster-forget-after \"soon\""},
		{append(slices.Clone(cluster), "--cluster-max-members", "0"), "--cluster-max-members \"0\""},
		{append(slices.Clone(cluster), "--peers", "b@127.0.0.1:7002,c@127.0.0.1:7003", "--cluster-max-members", "2"), "--cluster-max-members 2: want from this node and its 2 --peers (3) to 1024"},
		{append(slices.Clone(cluster), "--cluster-max-members", "5000"), "--cluster-max-members 5000"},
	} {
		err := run(t.Context(), tc.args, io.Discard, env())
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}
