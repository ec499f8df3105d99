package actors

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/proto"
	"storj.io/drpc/drpcconn"

	"github.com/readtag/readtag/internal/testutil"
)

// counter counts the remote.TestMessages it receives.
type counter struct{ n *atomic.Int64 }

func (c counter) Receive(ctx *actor.Context) {
	if _, ok := ctx.Message().(*remote.TestMessage); ok {
		c.n.Add(1)
	}
}

// newRemoteUnderTest is a cluster remote on addr with a started engine and
// a counter actor; it does not listen.
func newRemoteUnderTest(t testing.TB, addr string, cfg inboundConfig, log *slog.Logger) (*clusterRemote, *actor.PID, *atomic.Int64) {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := newClusterRemote(addr, cfg, log)
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
	if err != nil {
		t.Fatal(err)
	}
	n := &atomic.Int64{}
	pid := e.Spawn(func() actor.Receiver { return counter{n} }, "counter")
	return r, pid, n
}

func validEnvelope(t testing.TB, target *actor.PID) *remote.Envelope {
	data, err := proto.Marshal(&remote.TestMessage{Data: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	return &remote.Envelope{
		TypeNames: []string{"remote.TestMessage"},
		Targets:   []*actor.PID{target},
		Senders:   []*actor.PID{actor.NewPID("127.0.0.1:1", "sender")},
		Messages:  []*remote.Message{{Data: data}},
	}
}

// Hollywood v1.0.5's stream reader panicked (and the process died) on any
// index out of range; here such a message is dropped and the others in the
// envelope are delivered.
func TestClusterRemoteChecksIndexes(t *testing.T) {
	r, pid, n := newRemoteUnderTest(t, "127.0.0.1:1", inboundConfig{}, nil)
	env := validEnvelope(t, pid)
	good := env.Messages[0]
	env.Messages = []*remote.Message{
		{Data: good.Data, TypeNameIndex: 1},
		{Data: good.Data, TypeNameIndex: -1},
		{Data: good.Data, TargetIndex: 3},
		{Data: good.Data, SenderIndex: 1 << 30},
		{Data: []byte{0xff, 0xff}}, // truncated
		good,
	}
	r.deliver(peerInfo{}, env)
	env.TypeNames[0] = "no.such.Type"
	r.deliver(peerInfo{}, env)
	eventually(t, "the one good message to be delivered", func() bool { return n.Load() == 1 })
}

func TestClusterRemoteAsksAuthorize(t *testing.T) {
	var asked atomic.Int64
	r, pid, n := newRemoteUnderTest(t, "127.0.0.1:1", inboundConfig{Authorize: func(peer peerInfo, target, sender *actor.PID, msg any) bool {
		asked.Add(1)
		return false
	}}, nil)
	r.deliver(peerInfo{}, validEnvelope(t, pid))
	if asked.Load() != 1 || n.Load() != 0 {
		t.Fatalf("asked %d, delivered %d; want 1 and 0", asked.Load(), n.Load())
	}
}

// FuzzStreamReader feeds arbitrary bytes, decoded as an Envelope, to the
// cluster remote's delivery: it must never panic.
func FuzzStreamReader(f *testing.F) {
	r, pid, _ := newRemoteUnderTest(f, "127.0.0.1:1", inboundConfig{}, nil)
	seed := validEnvelope(f, pid)
	b, _ := proto.Marshal(seed)
	f.Add(b)
	seed.Messages[0].TypeNameIndex = 5
	b, _ = proto.Marshal(seed)
	f.Add(b)
	seed.Messages[0].TargetIndex, seed.Messages[0].TypeNameIndex = -1, 0
	b, _ = proto.Marshal(seed)
	f.Add(b)
	f.Add([]byte{0x0a, 0x05, 'a', 'c', 't', 'o', 'r'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var env remote.Envelope
		if proto.Unmarshal(data, &env) != nil {
			return
		}
		r.deliver(peerInfo{}, &env)
	})
}

// The remote on the wire, as a peer's link speaks to it: a stream carries
// envelopes (a broken message is dropped, logged once, and the stream goes
// on), authorize sees the peer's address, a message the engine hands the
// remote for another node is dropped and logged instead of dialled, and
// Stop closes the connections.
func TestClusterRemoteServesAStream(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	var peers atomic.Int64
	addr := testutil.FreeAddr(t)
	r, pid, n := newRemoteUnderTest(t, addr, inboundConfig{Authorize: func(peer peerInfo, target, sender *actor.PID, msg any) bool {
		if peer.Addr != nil {
			peers.Add(1)
		}
		return true
	}}, slog.New(slog.NewTextHandler(logs, nil)))
	if err := r.listen(); err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn := drpcconn.New(raw)
	defer conn.Close()
	stream, err := remote.NewDRPCRemoteClient(conn).Receive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	env := validEnvelope(t, pid)
	good := env.Messages[0]
	env.Messages = []*remote.Message{{Data: good.Data, TypeNameIndex: 1}, {Data: good.Data, TargetIndex: -1}, good}
	for _, e := range []*remote.Envelope{env, validEnvelope(t, pid)} {
		if err := stream.Send(e); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both good messages to be delivered", func() bool { return n.Load() == 2 })
	if peers.Load() != 2 {
		t.Errorf("authorize saw the peer's address %d times, want 2", peers.Load())
	}
	if got := strings.Count(logs.String(), "remote message dropped: index out of range"); got != 1 {
		t.Errorf("%d log lines for the dropped messages, want 1 (rate-limited):\n%s", got, logs)
	}

	r.engine.Send(actor.NewPID("127.0.0.1:2", "tracker/b"), struct{}{})
	if !strings.Contains(logs.String(), "cluster message to another node dropped") {
		t.Errorf("a send to another node was not logged:\n%s", logs)
	}

	r.Stop().Wait()
	drpcClosedWithin(t, conn, "a connection after Stop")
}

// With TLS, a connection that does not finish its handshake in time is
// closed, and one that does is closed once it has been silent for the idle
// timeout; authorize sees the verified certificate.
func TestClusterRemoteTimeouts(t *testing.T) {
	certs := testCerts(t, "a", "b")
	listening := func(cfg inboundConfig) string {
		cfg.TLS = clusterTLS(t, certs, "a", "b")
		addr := testutil.FreeAddr(t)
		r, _, _ := newRemoteUnderTest(t, addr, cfg, nil)
		if err := r.listen(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Stop().Wait() })
		return addr
	}

	// The idle timeout also bounds each read of the handshake: make it long
	// here, so that only the handshake timeout can close the connection.
	addr := listening(inboundConfig{HandshakeTimeout: 100 * time.Millisecond, IdleTimeout: time.Hour})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closedWithin(t, silent, "a connection that never starts its handshake")

	var named atomic.Bool
	addr = listening(inboundConfig{HandshakeTimeout: time.Hour, IdleTimeout: 300 * time.Millisecond,
		Authorize: func(peer peerInfo, target, sender *actor.PID, msg any) bool {
			named.Store(peer.TLS != nil && certNames(*peer.TLS, "b"))
			return false
		}})
	tc, err := tls.Dial("tcp", addr, clusterTLS(t, certs, "b", "a"))
	if err != nil {
		t.Fatal(err)
	}
	conn := drpcconn.New(tc)
	defer conn.Close()
	stream, err := remote.NewDRPCRemoteClient(conn).Receive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(validEnvelope(t, actor.NewPID(addr, "counter"))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "authorize to see b's certificate", named.Load)
	drpcClosedWithin(t, conn, "a silent authenticated connection")
}

// closedWithin fails unless the other end closes conn within 5 s.
func closedWithin(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s is still open after 5 s", what)
	}
}

// drpcClosedWithin fails unless the other end closes conn within 5 s (the
// drpc client reads the connection itself: this waits for it to notice).
func drpcClosedWithin(t *testing.T, conn *drpcconn.Conn, what string) {
	t.Helper()
	select {
	case <-conn.Closed():
	case <-time.After(5 * time.Second):
		t.Fatalf("%s is still open after 5 s", what)
	}
}

// At the cap the oldest connection still in its handshake makes room; when
// every connection has finished its handshake, a new one is refused.
func TestConnSetCap(t *testing.T) {
	cs := &connSet{pending: make(map[net.Conn]time.Time), open: make(map[net.Conn]bool)}
	pipe := func() net.Conn {
		c, other := net.Pipe()
		t.Cleanup(func() { c.Close(); other.Close() })
		return c
	}
	first, second, third := pipe(), pipe(), pipe()
	if !cs.admit(first, 2) || !cs.admit(second, 2) {
		t.Fatal("refused below the cap")
	}
	cs.pending[first] = cs.pending[first].Add(-time.Second) // accepted earlier
	if !cs.admit(third, 2) {
		t.Fatal("refused at the cap with connections still in their handshake")
	}
	if _, err := first.Write([]byte{0}); err == nil {
		t.Error("the oldest pending connection was not closed")
	}
	if cs.open[first] || !cs.open[second] || !cs.open[third] {
		t.Errorf("open after eviction: %v", cs.open)
	}
	cs.established(second)
	cs.established(third)
	if cs.admit(pipe(), 2) {
		t.Error("admitted past the cap with no connection in its handshake")
	}
	cs.closeAll()
	if cs.admit(pipe(), 3) {
		t.Error("admitted after closeAll")
	}
}
