package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/proto"
	"storj.io/drpc/drpcconn"
	"storj.io/drpc/drpcmux"
	"storj.io/drpc/drpcserver"

	"github.com/readtag/readtag/actors/clusterpb"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web/client"
)

// The cluster port under attack, on real processes: who may connect, what a
// peer may claim, what a malformed message does, and idle connections.

// clusterTLSFor is a client-side TLS config presenting node id's certificate
// from dir (nil id: no certificate).
func clusterTLSFor(t *testing.T, dir, id string) *tls.Config {
	t.Helper()
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
	if id != "" {
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, id+".crt"), filepath.Join(dir, id+".key"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

// outsider is a Hollywood remote client talking to a node's cluster port as
// a peer would, but sending whatever the test wants.
type outsider struct {
	conn   net.Conn
	stream remote.DRPCRemote_ReceiveClient
}

// connect opens a drpc stream to addr, with TLS when cfg is set. With TLS the
// handshake is done at once, so a refusal is an error here.
func connect(addr string, cfg *tls.Config) (*outsider, error) {
	var conn net.Conn
	var err error
	d := &net.Dialer{Timeout: 2 * time.Second}
	if cfg != nil {
		var tc *tls.Conn
		tc, err = tls.DialWithDialer(d, "tcp", addr, cfg)
		if err == nil {
			// In TLS 1.3 the server's verdict on our certificate comes after
			// the client's handshake ends: read to see it.
			_ = tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, rerr := tc.Read(make([]byte, 1)); rerr != nil && !isTimeout(rerr) {
				tc.Close()
				return nil, rerr
			}
			_ = tc.SetReadDeadline(time.Time{})
		}
		conn = tc
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	stream, err := remote.NewDRPCRemoteClient(drpcconn.New(conn)).Receive(context.Background())
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &outsider{conn: conn, stream: stream}, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (o *outsider) close() { _ = o.conn.Close() }

// msg is one message for an envelope: target, sender (may be nil), payload.
type msg struct {
	to, from *actor.PID
	body     proto.Message
}

// envelope packs msgs the way Hollywood's stream writer does.
func envelope(t *testing.T, msgs ...msg) *remote.Envelope {
	t.Helper()
	env := &remote.Envelope{}
	idx := func(list *[]*actor.PID, pid *actor.PID) int32 {
		for i, p := range *list {
			if p.Equals(pid) {
				return int32(i)
			}
		}
		*list = append(*list, pid)
		return int32(len(*list) - 1)
	}
	for _, m := range msgs {
		data, err := proto.Marshal(m.body)
		if err != nil {
			t.Fatal(err)
		}
		name := string(proto.MessageName(m.body))
		ti := int32(slices.Index(env.TypeNames, name))
		if ti < 0 {
			env.TypeNames = append(env.TypeNames, name)
			ti = int32(len(env.TypeNames) - 1)
		}
		rm := &remote.Message{Data: data, TypeNameIndex: ti, TargetIndex: idx(&env.Targets, m.to)}
		if m.from != nil {
			rm.SenderIndex = idx(&env.Senders, m.from)
		}
		env.Messages = append(env.Messages, rm)
	}
	return env
}

// pid is a PID on the node n.
func pid(n *node, id string) *actor.PID { return actor.NewPID(n.cluster, id) }

// serving checks that a node answers, that its readers still see each other
// and that a scroll still crosses the cluster.
func serving(t *testing.T, n *node, watcher, mover *client.Conn, pos float64) {
	t.Helper()
	if n.cmd.ProcessState != nil {
		t.Fatalf("node %s exited: %v", n.id, n.cmd.ProcessState)
	}
	if _, _, ok := n.health(); !ok {
		t.Fatalf("node %s does not answer /healthz", n.id)
	}
	_ = mover.Scroll(pos)
	within(t, 5*time.Second, fmt.Sprintf("a scroll to %g to cross the cluster", pos), func() bool {
		for _, g := range watcher.Ghosts() {
			if g.ID == mover.You().ID && g.Position == pos {
				return true
			}
		}
		return false
	})
}

// pair runs nodes a and b (mutual TLS) with a reader on each that sees the
// other; extra adds to a's peers (id@addr).
type pair struct {
	a, b     *node
	certs    string
	onA, onB *client.Conn
	aLog     func() string
}

func startPair(t *testing.T) *pair {
	t.Helper()
	return startPairCerts(t, makeCerts(t, "a", "b", "c", "x"))
}

func startPairCerts(t *testing.T, certs string, extra ...string) *pair {
	t.Helper()
	return startPairArgs(t, certs, extra, nil)
}

// startPairArgs is startPairCerts with more flags for a.
func startPairArgs(t *testing.T, certs string, extra, aArgs []string) *pair {
	t.Helper()
	ports := testutil.FreeAddrs(t, 4)
	a := &node{id: "a", http: ports[0], cluster: ports[1]}
	b := &node{id: "b", http: ports[2], cluster: ports[3]}
	for _, n := range []*node{a, b} {
		other := b
		if n == b {
			other = a
		}
		peers := []string{other.id + "@" + other.cluster}
		if n == a {
			peers = append(peers, extra...)
		}
		f, err := os.Create(filepath.Join(t.TempDir(), n.id+".log"))
		if err != nil {
			t.Fatal(err)
		}
		n.log = f
		n.args = append([]string{"--addr", n.http, "--node-id", n.id, "--cluster-addr", n.cluster,
			"--peers", strings.Join(peers, ","), "--log-format", "json"}, tlsArgs(certs, n.id)...)
		if n == a {
			n.args = append(n.args, aArgs...)
		}
		n.start(t)
	}
	p := &pair{a: a, b: b, certs: certs}
	p.aLog = func() string { b, _ := os.ReadFile(a.log.Name()); return string(b) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- log of node a (last 6 KB):\n%s", tail([]byte(p.aLog()), 6144))
		}
	})
	within(t, 15*time.Second, "a and b to see each other", func() bool {
		_, ma, _ := a.health()
		_, mb, _ := b.health()
		return slices.Contains(ma, "b") && slices.Contains(mb, "a")
	})
	const post = "actors-in-go"
	p.onA, p.onB = dial(t, a, post), dial(t, b, post)
	within(t, 5*time.Second, "the readers on a and b to see each other", func() bool {
		return slices.Equal(ids(p.onA), []string{p.onB.You().ID}) && slices.Equal(ids(p.onB), []string{p.onA.You().ID})
	})
	return p
}

// TestClusterOutsiders: without a certificate of the cluster CA that names a
// peer, nothing gets through; the node serves on.
func TestClusterOutsiders(t *testing.T) {
	p := startPair(t)
	other := makeCerts(t, "b") // another CA's certificate, for a peer's name
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"plain TCP", nil},
		{"TLS without a certificate", clusterTLSFor(t, p.certs, "")},
		{"certificate of another CA naming peer b", clusterTLSFor(t, other, "b")},
		{"cluster certificate of x, not a peer", clusterTLSFor(t, p.certs, "x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := connect(p.a.cluster, tc.cfg)
			if err == nil {
				// Plain TCP connects, but the node waits for a TLS hello:
				// the drpc bytes are refused and the connection closed.
				env := envelope(t, msg{to: pid(p.a, "cluster/a"), from: pid(p.b, "provider/b"),
					body: &cluster.Members{Members: []*cluster.Member{{ID: "evil", Host: "127.0.0.1:1"}}}})
				_ = o.stream.Send(env)
				_ = o.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, rerr := o.conn.Read(make([]byte, 1))
				o.close()
				if tc.cfg != nil || rerr == nil || isTimeout(rerr) {
					t.Fatalf("connected and not closed (read: %v)", rerr)
				}
			}
			t.Logf("refused: %v", err)
			serving(t, p.a, p.onB, p.onA, 0.25)
			if _, members, _ := p.a.health(); slices.Contains(members, "evil") {
				t.Fatalf("members %v", members)
			}
		})
	}
}

// fakePeer is a TLS cluster endpoint holding a real peer's certificate, that
// records what the node sends it.
type fakePeer struct {
	addr  string
	mu    sync.Mutex
	got   []string // "target type node body [hears=N]"
	asked []string // the posts of the last SyncRequest received
}

func startFakePeer(t *testing.T, certs, id string) *fakePeer {
	t.Helper()
	cfg := clusterTLSFor(t, certs, id)
	cfg.ClientAuth = tls.RequireAnyClientCert
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePeer{addr: ln.Addr().String()}
	mux := drpcmux.New()
	if err := remote.DRPCRegisterRemote(mux, f); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = drpcserver.New(mux).Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *fakePeer) Receive(stream remote.DRPCRemote_ReceiveStream) error {
	for {
		env, err := stream.Recv()
		if err != nil {
			return err
		}
		for _, m := range env.Messages {
			line := fmt.Sprintf("%s %s", env.Targets[m.TargetIndex].ID, env.TypeNames[m.TypeNameIndex])
			var e clusterpb.Envelope
			if proto.Unmarshal(m.Data, &e) == nil {
				line += fmt.Sprintf(" %s %T", e.GetNode(), e.GetBody())
				if h := e.GetHeartbeat(); h != nil && h.Hears != nil {
					line += fmt.Sprintf(" hears=%d", h.GetHears())
				}
				if r := e.GetSyncRequest(); r != nil {
					f.mu.Lock()
					f.asked = slices.Clone(r.GetPosts())
					f.mu.Unlock()
				}
			}
			f.mu.Lock()
			f.got = append(f.got, line)
			f.mu.Unlock()
		}
	}
}

// askedPosts are the posts the last SyncRequest the fake received asked
// for.
func (f *fakePeer) askedPosts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func (f *fakePeer) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

func (f *fakePeer) count(substr string) int {
	n := 0
	for _, l := range f.received() {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// TestClusterPeerCannotLie: a peer (c) with a valid certificate can speak
// only as itself and only to the tracker and provider: its claims to be b,
// a member list, a deactivation of the room registry and activations
// change nothing.
func TestClusterPeerCannotLie(t *testing.T) {
	p := startPairWithFake(t)
	a, fake := p.a, p.fake
	c := clusterTLSFor(t, p.certs, "c")
	o, err := connect(a.cluster, c)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	trackerB, trackerC := pid(p.b, "tracker/b"), actor.NewPID(fake.addr, "tracker/c")
	ghost := &clusterpb.Envelope{Node: "b", Incarnation: 1, Body: &clusterpb.Envelope_Deltas{Deltas: &clusterpb.Deltas{Seq: 1,
		Deltas: []*clusterpb.Delta{{Kind: clusterpb.Delta_KIND_JOIN, Post: "actors-in-go", Reader: &clusterpb.Reader{Id: "ghost-of-b", Position: 0.5}}}}}}
	agent := pid(a, "cluster/a")
	lies := envelope(t,
		msg{to: pid(a, "tracker/a"), from: trackerB, body: ghost}, // b's name, c's certificate
		msg{to: pid(a, "tracker/a"), from: trackerC, body: ghost}, // and from c's own PID
		msg{to: agent, from: trackerC, body: &cluster.Members{Members: []*cluster.Member{{ID: "evil", Host: fake.addr, Kinds: []string{}}}}},
		msg{to: agent, from: pid(a, "provider/a"), body: &cluster.Deactivation{PID: pid(a, "rooms/a")}},
		msg{to: agent, from: trackerC, body: &cluster.Activation{PID: pid(a, "rooms/a")}},
		msg{to: agent, from: trackerC, body: &cluster.ActorTopology{Actors: []*cluster.ActorInfo{{PID: pid(a, "rooms/a")}}}},
		msg{to: pid(a, "rooms/a"), from: trackerC, body: &clusterpb.Envelope{Node: "c"}},
	)
	if err := o.stream.Send(lies); err != nil {
		t.Fatal(err)
	}
	// Then c tells the truth: a heartbeat as itself. Once a counts c as a
	// member, its tracker asks c (the fake peer) for a snapshot; by then a
	// has handled everything sent before.
	hb := &clusterpb.Envelope{Node: "c", Incarnation: 9, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}
	if err := o.stream.Send(envelope(t, msg{to: pid(a, "provider/a"), from: actor.NewPID(fake.addr, "provider/c"), body: hb})); err != nil {
		t.Fatal(err)
	}
	within(t, 10*time.Second, "a to ask c for a snapshot", func() bool {
		return fake.count("tracker/c readtag.cluster.v1.Envelope a *clusterpb.Envelope_SyncRequest") > 0
	})
	// Two more of a's tracker ticks: a member "evil" would have been asked
	// for its snapshot at the same address by now.
	within(t, 10*time.Second, "two tracker heartbeats to c", func() bool {
		return fake.count("tracker/c readtag.cluster.v1.Envelope a *clusterpb.Envelope_Heartbeat") >= 2
	})
	for _, l := range fake.received() {
		if strings.Contains(l, "evil") {
			t.Fatalf("a treated evil as a member: %s", l)
		}
	}
	within(t, 10*time.Second, "a's members to be a, b, c", func() bool {
		_, members, _ := a.health()
		return slices.Equal(members, []string{"a", "b", "c"})
	})
	if slices.Contains(ids(p.onA), "ghost-of-b") {
		t.Fatalf("a's reader sees the injected ghost: %v", ids(p.onA))
	}
	// The room registry still works: a new reader joins.
	fresh := dial(t, a, "actors-in-go")
	if got := ids(fresh); !slices.Equal(got, []string{p.onA.You().ID, p.onB.You().ID}) && !slices.Equal(got, []string{p.onB.You().ID, p.onA.You().ID}) {
		t.Fatalf("a newcomer on a sees %v", got)
	}
	serving(t, a, p.onB, p.onA, 0.75)
	// One line, and (if this test ran past the interval) one summary with
	// the count of the rest.
	if n := len(linesOf(t, a, "cluster message refused")) - len(linesOf(t, a, "cluster message refused", "in", "10s")); n != 1 {
		t.Errorf("%d log lines for refused messages, want 1 (rate-limited)", n)
	}
}

type pairWithFake struct {
	*pair
	fake *fakePeer
}

// startPairWithFake runs a and b, and a fake peer c (holding c's real
// certificate) that a counts among its peers.
func startPairWithFake(t *testing.T) *pairWithFake {
	t.Helper()
	return startPairWithFakeArgs(t)
}

// startPairWithFakeArgs is startPairWithFake with more flags for a.
func startPairWithFakeArgs(t *testing.T, aArgs ...string) *pairWithFake {
	t.Helper()
	// The fake needs the certificates before a starts: make them first and
	// let startPair reuse the folder.
	p := &pairWithFake{}
	certs := makeCerts(t, "a", "b", "c", "x")
	p.fake = startFakePeer(t, certs, "c")
	p.pair = startPairArgs(t, certs, []string{"c@" + p.fake.addr}, aArgs)
	return p
}

// TestClusterMalformedEnvelopes: an authenticated peer sends every kind of
// broken envelope; the node keeps serving and its readers keep their ghosts.
func TestClusterMalformedEnvelopes(t *testing.T) {
	p := startPairWithFake(t)
	a := p.a
	c := clusterTLSFor(t, p.certs, "c")
	provider, from := pid(a, "provider/a"), actor.NewPID(p.fake.addr, "provider/c")
	good := envelope(t, msg{to: provider, from: from, body: &clusterpb.Envelope{Node: "c", Incarnation: 7, Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}})
	bad := func(edit func(e *remote.Envelope)) *remote.Envelope {
		e := proto.Clone(good).(*remote.Envelope)
		edit(e)
		return e
	}
	cases := []struct {
		name string
		env  *remote.Envelope
	}{
		{"type name index out of range", bad(func(e *remote.Envelope) { e.Messages[0].TypeNameIndex = 5 })},
		{"negative type name index", bad(func(e *remote.Envelope) { e.Messages[0].TypeNameIndex = -1 })},
		{"target index out of range", bad(func(e *remote.Envelope) { e.Messages[0].TargetIndex = 7 })},
		{"no targets", bad(func(e *remote.Envelope) { e.Targets = nil })},
		{"sender index out of range", bad(func(e *remote.Envelope) { e.Messages[0].SenderIndex = 1 << 30 })},
		{"no type names", bad(func(e *remote.Envelope) { e.TypeNames = nil })},
		{"truncated payload", bad(func(e *remote.Envelope) { e.Messages[0].Data = e.Messages[0].Data[:3] })},
		{"garbage payload", bad(func(e *remote.Envelope) { e.Messages[0].Data = []byte{0xff, 0xff, 0xff, 0xff, 0x0f} })},
		{"unknown type", bad(func(e *remote.Envelope) { e.TypeNames[0] = "no.such.Type" })},
		{"hollywood internals", bad(func(e *remote.Envelope) { e.TypeNames[0] = "actor.PID" })},
	}
	size := proto.Size(cases[0].env)
	t.Logf("the envelope with its type name index out of range is %d bytes", size)
	o, err := connect(a.cluster, c)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	for i, tc := range cases {
		if err := o.stream.Send(tc.env); err != nil {
			t.Fatalf("%s: send: %v", tc.name, err)
		}
		serving(t, a, p.onB, p.onA, float64(i+1)/100)
	}
	// The stream survived all of them: a good message still gets through.
	if err := o.stream.Send(good); err != nil {
		t.Fatalf("the stream closed: %v", err)
	}
	within(t, 10*time.Second, "a to count c as a member", func() bool {
		_, m, _ := a.health()
		return slices.Contains(m, "c")
	})
	// Garbage below the envelope: broken drpc frames close that connection
	// only.
	for i, junk := range [][]byte{bytes.Repeat([]byte{0xff}, 64), {0x05, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f}, {}} {
		tc, err := tls.Dial("tcp", a.cluster, c)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tc.Write(junk)
		_ = tc.CloseWrite()
		_ = tc.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, _ = io.Copy(io.Discard, tc)
		tc.Close()
		serving(t, a, p.onB, p.onA, float64(51+i)/100)
	}
	if slices.Contains(ids(p.onA), "") || len(ids(p.onA)) != 1 {
		t.Fatalf("a's reader sees %v", ids(p.onA))
	}
}

// TestClusterIdleConnections: 2,000 connections that never say a word are
// closed (TLS handshake timeout, connection cap), an authenticated peer
// that falls silent is closed after the idle timeout, and the node serves
// throughout.
func TestClusterIdleConnections(t *testing.T) {
	p := startPair(t)
	a := p.a
	before := goroutines(t, a)
	const n = 2000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for range n {
		c, err := net.Dial("tcp", a.cluster)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	during := goroutines(t, a)
	serving(t, a, p.onB, p.onA, 0.3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open int
	var slowest time.Duration
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, err := c.Read(make([]byte, 1))
			mu.Lock()
			defer mu.Unlock()
			if isTimeout(err) {
				open++
			}
			slowest = max(slowest, time.Since(start))
		}()
	}
	wg.Wait()
	if open > 0 {
		t.Fatalf("%d of %d idle connections still open after 30 s", open, n)
	}
	t.Logf("%d idle connections closed by the node, the last %v after the first was opened; goroutines on a: %d before, %d with them open, %d after",
		n, slowest.Round(time.Millisecond), before, during, goroutines(t, a))
	serving(t, a, p.onB, p.onA, 0.6)
	within(t, 10*time.Second, "a's members to be a, b after the flood", func() bool {
		_, members, _ := a.health()
		return slices.Equal(members, []string{"a", "b"})
	})

	// An authenticated connection that then says nothing is closed after
	// the idle timeout (10 s), and not before.
	quiet, err := connect(a.cluster, clusterTLSFor(t, p.certs, "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.close()
	opened := time.Now()
	_ = quiet.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.Copy(io.Discard, quiet.conn)
	if isTimeout(err) {
		t.Fatal("a silent authenticated connection was not closed within 30 s")
	}
	if d := time.Since(opened); d < 9*time.Second {
		t.Fatalf("a silent authenticated connection was closed after %v, before the idle timeout", d)
	} else {
		t.Logf("a silent authenticated connection was closed after %v", d.Round(time.Millisecond))
	}
	serving(t, a, p.onB, p.onA, 0.9)
}

// goroutines reads go_goroutines from the node's /metrics.
func goroutines(t *testing.T, n *node) int {
	t.Helper()
	resp, err := http.Get(n.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			var g int
			fmt.Sscan(v, &g)
			return g
		}
	}
	t.Fatal("no go_goroutines in /metrics")
	return 0
}

// TestClusterAcceptErrors: node a runs with 64 open files at most and its
// cluster port is flooded until accept fails (EMFILE). The listener backs
// off and carries on, logs each episode once with a count, and once the
// flood ends a and b are a cluster again.
func TestClusterAcceptErrors(t *testing.T) {
	certs := makeCerts(t, "a", "b")
	ports := testutil.FreeAddrs(t, 4)
	a := &node{id: "a", http: ports[0], cluster: ports[1]}
	b := &node{id: "b", http: ports[2], cluster: ports[3]}
	for _, n := range []*node{a, b} {
		other := a
		if n == a {
			other = b
		}
		f, err := os.Create(filepath.Join(t.TempDir(), n.id+".log"))
		if err != nil {
			t.Fatal(err)
		}
		n.log = f
		n.args = append([]string{"--addr", n.http, "--node-id", n.id, "--cluster-addr", n.cluster,
			"--peers", other.id + "@" + other.cluster, "--log-format", "json"}, tlsArgs(certs, n.id)...)
	}
	// a: soft and hard limit of 64 open files (Go raises the soft limit to
	// the hard one at start, so both are set).
	bin := binary(t)
	a.args = append([]string{"-c", `ulimit -n 64 && exec "$0" "$@"`, bin}, a.args...)
	a.cmd = exec.Command("bash", a.args...)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.cmd.Process.Kill(); _ = a.cmd.Wait() })
	b.start(t)
	aLog := func() string { b, _ := os.ReadFile(a.log.Name()); return string(b) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- log of node a (last 6 KB):\n%s", tail([]byte(aLog()), 6144))
		}
	})
	formed := func() bool {
		_, ma, _ := a.health()
		_, mb, _ := b.health()
		return slices.Equal(ma, []string{"a", "b"}) && slices.Equal(mb, []string{"a", "b"})
	}
	within(t, 15*time.Second, "a and b to form a cluster", formed)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	within(t, 20*time.Second, "a's accept to fail", func() bool {
		for range 20 {
			if c, err := net.DialTimeout("tcp", a.cluster, 200*time.Millisecond); err == nil {
				conns = append(conns, c)
			}
		}
		return strings.Contains(aLog(), "remote accept failing, retrying")
	})
	t.Logf("accept failed with %d connections open to a's cluster port", len(conns))
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	within(t, 20*time.Second, "a to accept again", func() bool { return strings.Contains(aLog(), "remote accepting again") })
	within(t, 20*time.Second, "a and b to be a cluster again", formed)
	if a.cmd.ProcessState != nil {
		t.Fatalf("a exited: %v", a.cmd.ProcessState)
	}
	// Connections still in the listen backlog when the flood closed its
	// side can start another episode after the first ended: wait until
	// every episode that began has ended (each once, with its count).
	within(t, 20*time.Second, "every accept-failure episode to end (as many \"accepting again\" as \"accept failing\" lines)", func() bool {
		log := aLog()
		return strings.Count(log, "remote accept failing") == strings.Count(log, "remote accepting again")
	})
	for _, line := range strings.Split(aLog(), "\n") {
		if strings.Contains(line, "remote accepting again") {
			t.Logf("%s", line)
		}
	}
}
