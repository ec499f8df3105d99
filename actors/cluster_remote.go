package actors

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"storj.io/drpc/drpcmux"
	"storj.io/drpc/drpcserver"

	"github.com/readtag/readtag/internal/ratelog"
)

// clusterRemote is the node's actor.Remoter: it serves the cluster port,
// delivering what peers send to this node's actors. It speaks Hollywood's
// wire protocol (a drpc Receive stream of remote.Envelope batches, as
// readtag's links send) with upstream's generated drpc code and serializer,
// but is readtag's own server, because Hollywood v1.0.5's lets anyone who
// can reach the port crash, stall or exhaust the node:
//   - its stream reader indexes an envelope's type names, targets and
//     senders unchecked, in a goroutine nothing recovers: one 93-byte
//     envelope killed the process. Here every index is checked, and a
//     message out of range, that cannot be decoded or that authorize
//     refuses is dropped and logged; the envelope and the stream go on;
//   - it has no handshake or idle timeout, no cap and no recover: 2,000
//     idle connections held 6,000 goroutines for ever. Here temporary
//     accept errors (EMFILE, ENFILE, ECONNABORTED) are retried with a
//     back-off, as net/http does, and logged once per episode; at most
//     MaxConns connections are kept, and at the cap the oldest one still in
//     its TLS handshake makes room, or the new one is closed; a TLS
//     handshake must finish within HandshakeTimeout and a connection that
//     sends nothing for IdleTimeout is closed; a panic while serving a
//     connection closes that connection only;
//   - it has no authentication beyond TLS: the verified peer (peerInfo)
//     travels in the stream's context, so that authorize (the gate,
//     cluster_gate.go) judges each message by who sent it.
//
// It starts late: actor.NewEngine starts its remote before it has set up
// its own event stream; a peer's message that arrives then, or before our
// provider and tracker exist (a dead letter), reads the engine's fields
// while NewEngine still writes them: a data race the race detector reports
// whenever a node starts while its peers are already sending. So Start
// only records the engine, and listen opens the port afterwards.
type clusterRemote struct {
	addr   string
	cfg    inboundConfig
	log    *slog.Logger
	engine *actor.Engine // set by Start, before listen

	once    sync.Once
	started atomic.Bool // listen succeeded: cancel and stopped are set
	cancel  context.CancelFunc
	stopped sync.WaitGroup // serve and the connections it serves

	// rlog takes every line a peer or a stranger can trigger (ratelog).
	rlog *ratelog.Logger

	budgets *budgets // nil: no budget (tests of the remote alone)
	boxMu   sync.Mutex
	boxes   map[boxKey]*mailbox // per peer and target, with cfg.Inbox
}

// inboundConfig is what the cluster remote needs to serve peers.
type inboundConfig struct {
	// TLS, if set, is the server side of mutual TLS, run per connection.
	// Zero value means plain TCP.
	TLS *tls.Config
	// MaxConns caps inbound connections. Zero value means 1024.
	MaxConns int
	// HandshakeTimeout bounds a TLS handshake. Zero value means 5 * time.Second.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that sends nothing for that long.
	// Zero value means 10 * time.Minute, Hollywood's stream writer's own.
	IdleTimeout time.Duration
	// Authorize decides whether a message that arrived from a peer is
	// delivered. Zero value means every message is.
	Authorize authorizeFunc
	// Budget, if set, is what each peer may send (see BudgetConfig). Zero
	// value means no budget.
	Budget *BudgetConfig
	// Inbox, if set, bounds the messages one peer may have waiting for one
	// actor: beyond it they are dropped and counted, and those delivered
	// are wrapped in fromPeer, which the actor must hand back (done). Zero
	// value means unbounded and unwrapped.
	Inbox int
	// Stats receives the budget's and the inboxes' counters. Zero value
	// means they are not reported.
	Stats *clusterStats
}

// peerInfo is what the remote knows of the other end of an inbound
// connection.
type peerInfo struct {
	Addr net.Addr
	// TLS is the state of the finished handshake, with the verified peer
	// certificates; nil when the remote runs without TLS.
	TLS *tls.ConnectionState
}

// authorizeFunc decides whether a message that arrived from peer may be
// delivered to target. A message it refuses is dropped; it logs what it
// refuses.
type authorizeFunc func(peer peerInfo, target, sender *actor.PID, msg any) bool

func newClusterRemote(addr string, cfg inboundConfig, log *slog.Logger) *clusterRemote {
	setDefault(&cfg.MaxConns, 1024)
	setDefault(&cfg.HandshakeTimeout, 5*time.Second)
	setDefault(&cfg.IdleTimeout, 10*time.Minute)
	if cfg.Stats == nil {
		cfg.Stats = &clusterStats{}
	}
	r := &clusterRemote{addr: addr, cfg: cfg, log: log, rlog: ratelog.New(log, 0), boxes: make(map[boxKey]*mailbox)}
	if cfg.Budget != nil {
		r.budgets = newBudgets(*cfg.Budget, cfg.Stats)
	}
	return r
}

// Address is the node's cluster address: the address of its actors' PIDs.
func (r *clusterRemote) Address() string { return r.addr }

// Start records the engine; listen opens the port (see clusterRemote).
func (r *clusterRemote) Start(e *actor.Engine) error {
	r.engine = e
	return nil
}

// Send is where the engine hands a message for another node's actor.
// Nothing of readtag's is sent that way: the tracker and the provider send
// through their links (cluster_links.go), and Hollywood's agent sends only
// after an Activate, which readtag never calls. So nothing is dialled or serialized
// here (Hollywood's stream writer panicked on a message that was not a
// proto.Message): what arrives is dropped and logged.
func (r *clusterRemote) Send(pid *actor.PID, msg any, sender *actor.PID) {
	r.rlog.Warn("", "cluster message to another node dropped: readtag sends through its links",
		"to", pidString(pid), "from", pidString(sender), "type", typeName(msg))
}

// listen opens the cluster port and serves peers until Stop.
func (r *clusterRemote) listen() error {
	var err error
	r.once.Do(func() {
		var ln net.Listener
		// Plain TCP: TLS is done per connection in serveConn, with a
		// handshake timeout.
		ln, err = net.Listen("tcp", r.addr)
		if err != nil {
			err = fmt.Errorf("remote failed to listen: %w", err)
			return
		}
		mux := drpcmux.New()
		if err = remote.DRPCRegisterRemote(mux, r); err != nil {
			_ = ln.Close()
			err = fmt.Errorf("failed to register remote: %w", err)
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		r.stopped.Add(1)
		go func() {
			defer r.stopped.Done()
			r.serve(ctx, ln, drpcserver.New(mux))
			r.log.Debug("remote stopped", "addr", r.addr)
		}()
		r.started.Store(true)
		r.log.Debug("remote listening", "addr", r.addr)
	})
	return err
}

// Stop closes the port and every inbound connection; wait on the result
// for them to be closed.
func (r *clusterRemote) Stop() *sync.WaitGroup {
	if r.started.Load() {
		r.cancel()
	}
	return &r.stopped
}

// Receive serves one peer's stream of envelopes (remote.DRPCRemoteServer).
func (r *clusterRemote) Receive(stream remote.DRPCRemote_ReceiveStream) error {
	defer r.log.Debug("streamreader terminated")
	peer := peerFrom(stream.Context())
	for {
		env, err := stream.Recv()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			// A peer that connects, sends and drops, in a loop, must not
			// write a line each time: rate-limited, and a warning, since
			// the fault is at the other end.
			r.rlog.Warn("", "cluster stream from a peer ended", "peer", peer.addr(), "err", err)
			return err
		}
		msgs := env.Messages
		if r.budgets != nil {
			allowed, cut := r.budgets.messages(peer.id(), len(msgs))
			if cut {
				r.disconnected(peer)
				return nil
			}
			if allowed < len(msgs) {
				r.rlog.Warn("budget "+peer.id(), "cluster peer over its message budget: messages dropped", "peer", peer.id(), "remote", peer.addr(), "messages_per_second", r.budgets.cfg.Messages)
				env.Messages = msgs[:allowed]
			}
		}
		r.deliver(peer, env)
	}
}

// disconnected logs that a peer stayed over its budget and was cut off:
// once per peer per cooldown, since it is refused meanwhile.
func (r *clusterRemote) disconnected(peer peerInfo) {
	r.log.Warn("cluster peer disconnected: over its budget for too long", "peer", peer.id(), "remote", peer.addr(),
		"grace", r.budgets.cfg.Grace.String(), "cooldown", r.budgets.cfg.Cooldown.String())
}

// fromPeer is a message a peer sent, counted in box until the actor that
// receives it calls done (inboundConfig.Inbox).
type fromPeer struct {
	msg any
	box *mailbox
}

func (m fromPeer) traceInfo() (string, string, []any) { return traceOf(m.msg) }

// mailbox counts the messages queued for an actor on one path, to bound
// them: Hollywood's inboxes grow without limit.
type mailbox struct {
	n   atomic.Int64
	max int64
}

// take counts one more message, or says there is no room for it.
func (b *mailbox) take() bool {
	if b.n.Add(1) > b.max {
		b.n.Add(-1)
		return false
	}
	return true
}

// done is called by the receiver for every message taken.
func (b *mailbox) done() { b.n.Add(-1) }

type boxKey struct{ peer, target string }

func (r *clusterRemote) box(peer, target string) *mailbox {
	r.boxMu.Lock()
	defer r.boxMu.Unlock()
	k := boxKey{peer, target}
	b, ok := r.boxes[k]
	if !ok {
		b = &mailbox{max: int64(r.cfg.Inbox)}
		r.boxes[k] = b
	}
	return b
}

// deliver hands each message of env that is in range, decodes and is
// authorized to its local target.
func (r *clusterRemote) deliver(peer peerInfo, env *remote.Envelope) {
	for _, msg := range env.Messages {
		tname, ok := index(env.TypeNames, msg.TypeNameIndex)
		target, ok2 := index(env.Targets, msg.TargetIndex)
		var sender *actor.PID
		ok3 := true
		if len(env.Senders) > 0 {
			sender, ok3 = index(env.Senders, msg.SenderIndex)
		}
		if !ok || !ok2 || !ok3 || target == nil {
			r.rlog.Warn("", "remote message dropped: index out of range", "peer", peer.addr())
			continue
		}
		payload, err := remote.ProtoSerializer{}.Deserialize(msg.Data, tname)
		if err != nil {
			r.rlog.Warn("", "remote message dropped: cannot decode", "peer", peer.addr(), "type", tname, "err", err)
			continue
		}
		if auth := r.cfg.Authorize; auth != nil && !auth(peer, target, sender, payload) {
			continue
		}
		if r.cfg.Inbox > 0 {
			box := r.box(peer.id(), target.GetID())
			if !box.take() {
				r.cfg.Stats.inboxDropped.Add(1)
				continue
			}
			payload = fromPeer{msg: payload, box: box}
		}
		r.engine.SendLocal(target, payload, sender)
	}
}

func index[T any](s []T, i int32) (T, bool) {
	if i < 0 || int(i) >= len(s) {
		var zero T
		return zero, false
	}
	return s[i], true
}

// id is who the peer is, for its budget and inboxes: the names its
// certificate holds, or without TLS its IP address.
func (p peerInfo) id() string {
	if p.TLS != nil && len(p.TLS.PeerCertificates) > 0 {
		return strings.Join(p.TLS.PeerCertificates[0].DNSNames, ",")
	}
	if ta, ok := p.Addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return p.addr()
}

func (p peerInfo) addr() string {
	if p.Addr == nil {
		return ""
	}
	return p.Addr.String()
}

type peerKey struct{}

func peerFrom(ctx context.Context) peerInfo {
	p, _ := ctx.Value(peerKey{}).(peerInfo)
	return p
}

// serve accepts connections on ln until ctx ends, and waits for the
// connections it served to close.
func (r *clusterRemote) serve(ctx context.Context, ln net.Listener, s *drpcserver.Server) {
	conns := &connSet{pending: make(map[net.Conn]time.Time), open: make(map[net.Conn]bool)}
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		_ = ln.Close()
		conns.closeAll()
	}()
	var failed int
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if ne, ok := err.(net.Error); !ok || !ne.Temporary() { //nolint:staticcheck // as net/http does
				r.log.Error("remote listener failed", "addr", r.addr, "err", err)
				return
			}
			if failed == 0 {
				r.log.Error("remote accept failing, retrying", "addr", r.addr, "err", err)
			}
			failed++
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			continue
		}
		if failed > 0 {
			r.log.Warn("remote accepting again", "addr", r.addr, "failed_accepts", failed)
			failed, delay = 0, 0
		}
		if !conns.admit(conn, r.cfg.MaxConns) {
			r.rlog.Warn("", "remote connection refused: too many", "remote", conn.RemoteAddr().String(), "max", r.cfg.MaxConns)
			_ = conn.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns.remove(conn)
			defer conn.Close()
			r.serveConn(ctx, s, conn, conns)
		}()
	}
}

func (r *clusterRemote) serveConn(ctx context.Context, s *drpcserver.Server, raw net.Conn, conns *connSet) {
	defer func() {
		if v := recover(); v != nil {
			r.rlog.Warn("", "remote connection panicked: closed", "remote", raw.RemoteAddr().String(), "panic", v)
		}
	}()
	conn := net.Conn(&idleConn{Conn: raw, idle: r.cfg.IdleTimeout})
	peer := peerInfo{Addr: raw.RemoteAddr()}
	if r.cfg.TLS != nil {
		tc := tls.Server(conn, r.cfg.TLS)
		hctx, cancel := context.WithTimeout(ctx, r.cfg.HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		// EOF: closed without a word (a port probe); ctx done: we are stopping.
		if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
			r.rlog.Warn("", "remote connection refused: TLS handshake", "remote", raw.RemoteAddr().String(), "err", err)
		}
		if err != nil {
			return
		}
		st := tc.ConnectionState()
		peer.TLS = &st
		conn = tc
	}
	conns.established(raw)
	if r.budgets != nil {
		// Who the peer is is known only now: a peer cooling down is
		// refused here, and its traffic is charged to its budget.
		id := peer.id()
		if !r.budgets.admit(id, raw) {
			r.rlog.Warn("cooldown "+id, "remote connection refused: the peer is cooling down after exceeding its budget", "peer", id, "remote", raw.RemoteAddr().String())
			return
		}
		defer r.budgets.release(id, raw)
		conn = &budgetConn{Conn: conn, peer: id, budgets: r.budgets, done: ctx.Done()}
	}
	_ = s.ServeOne(context.WithValue(ctx, peerKey{}, peer), conn)
}

// idleConn closes (times out) a connection that sends nothing for idle.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// connSet counts inbound connections; pending ones are still in their
// handshake, with the time they were accepted.
type connSet struct {
	mu      sync.Mutex
	pending map[net.Conn]time.Time
	open    map[net.Conn]bool
	closed  bool
}

// admit reports whether conn may be served. At the cap it closes the
// oldest pending connection to make room, so that a flood of connections
// that never finish a handshake cannot lock out a real peer for longer
// than it takes to connect.
func (cs *connSet) admit(conn net.Conn, max int) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	if len(cs.open) >= max {
		var oldest net.Conn
		var at time.Time
		for c, t := range cs.pending {
			if oldest == nil || t.Before(at) {
				oldest, at = c, t
			}
		}
		if oldest == nil {
			return false
		}
		_ = oldest.Close()
		delete(cs.pending, oldest)
		delete(cs.open, oldest)
	}
	cs.open[conn] = true
	cs.pending[conn] = time.Now()
	return true
}

func (cs *connSet) established(conn net.Conn) {
	cs.mu.Lock()
	delete(cs.pending, conn)
	cs.mu.Unlock()
}

func (cs *connSet) remove(conn net.Conn) {
	cs.mu.Lock()
	delete(cs.pending, conn)
	delete(cs.open, conn)
	cs.mu.Unlock()
}

func (cs *connSet) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for c := range cs.open {
		_ = c.Close()
	}
}
