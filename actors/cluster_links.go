package actors

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/proto"
	"storj.io/drpc/drpcconn"

	"github.com/readtag/readtag/internal/ratelog"
)

// links carry readtag's messages to its peers: one link per configured peer,
// each with its own goroutine, connection and bounded queue. A send only
// queues, so no actor ever waits on the network and one bad peer never
// delays another.
//
// Nothing of readtag's goes out through Hollywood's remote router (readtag's
// own remote only serves peers): in v1.0.5 the router dials a new address
// inside its own actor, synchronously, with 0+1+2 s of sleeps and no dial
// timeout (so a black-holed SYN or a stuck TLS handshake would hold it for
// minutes), stalling every remote send of the node. A link speaks the same wire
// protocol (a drpc Receive stream of remote.Envelope batches) on a
// connection it dials itself, off the actors, with a timeout, a write
// deadline and back-off. Cluster mode never uses Activate, so Hollywood's
// agent sends nothing remote either: the router is never handed a message.
//
// Whether the peer actually receives what a link sends is not the link's
// business: the provider's heartbeats say which nodes hear which (a round
// trip of the protocol, see cluster_provider.go), and the provider recycles
// a link whose peer has stopped hearing it.
type links struct {
	engine *actor.Engine
	tls    *tls.Config // nil: plain TCP
	log    *slog.Logger
	rlog   *ratelog.Logger // lines a peer can trigger
	stats  *clusterStats
	notify []*actor.PID // told linkUp; set before start
	// relay says which peers' messages also go through a relay
	// (cluster_relay.go); nil: none. Set before start.
	relay *relayRoutes

	dialTimeout  time.Duration
	writeTimeout time.Duration
	backoffMax   time.Duration

	mu      sync.RWMutex
	byNode  map[string]*link // configured peers, and those that joined (add, remove)
	closing bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// link is the way to one peer.
type link struct {
	l    *links
	node string
	wake chan struct{} // cap 1: something was queued, or a retarget or recycle
	// ctx ends with the links, or when the peer is forgotten (remove).
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	addr     string // where to dial; the configured address until the peer moves
	queue    []outMsg
	downAt   time.Time // when the last connection ended (zero while connected)
	recycle  bool      // drop the current connection and dial again
	draining bool      // links are closing: send what is queued, then stop
	up       atomic.Bool
}

type outMsg struct {
	kind   string // the target actor's kind: kindTracker or kindProvider
	sender *actor.PID
	msg    proto.Message
}

// linkUp tells the provider and the tracker that a link to node (re)connected,
// so they can heartbeat at once instead of at their next tick.
type linkUp struct{ node, addr string }

func (m linkUp) traceInfo() (string, string, []any) {
	return "", "", []any{"peer", m.node, "addr", m.addr}
}

const (
	// linkQueueMax bounds what waits for one peer. Beyond it new messages
	// are dropped: the peer sees a gap in our seq and asks for a snapshot.
	linkQueueMax = 4096
	// linkBatchMax is how many messages go in one remote.Envelope.
	linkBatchMax = 256
)

func newLinks(e *actor.Engine, cfg ClusterConfig, log *slog.Logger, stats *clusterStats) *links {
	ctx, cancel := context.WithCancel(context.Background())
	l := &links{
		engine: e, tls: cfg.TLS, log: log, rlog: ratelog.New(log, 0), stats: stats,
		dialTimeout:  cfg.PeerTimeout / 2,
		writeTimeout: cfg.PeerTimeout,
		backoffMax:   cfg.Heartbeat,
		byNode:       make(map[string]*link, len(cfg.Peers)),
		ctx:          ctx, cancel: cancel,
	}
	for _, p := range cfg.Peers {
		l.byNode[p.ID] = l.newLink(p.ID, p.Addr)
	}
	return l
}

func (l *links) newLink(node, addr string) *link {
	// Not connected yet counts as down since now, so that what is queued
	// for a peer that never answers is dropped after a while.
	k := &link{l: l, node: node, addr: addr, wake: make(chan struct{}, 1), downAt: time.Now()}
	k.ctx, k.cancel = context.WithCancel(l.ctx)
	return k
}

// get is the link to node, if it is a peer.
func (l *links) get(node string) (*link, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	k, ok := l.byNode[node]
	return k, ok
}

// start runs one goroutine per link; notify are told of each linkUp.
func (l *links) start(notify ...*actor.PID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notify = notify
	for _, k := range l.byNode {
		l.run(k)
	}
}

// run starts k's goroutine. l.mu is held.
func (l *links) run(k *link) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		k.run()
	}()
}

// send queues msg for the actor of the given kind on node. It never blocks
// and reports false if node is not a peer or its queue is full.
func (l *links) send(node, kind string, sender *actor.PID, msg proto.Message) bool {
	k, ok := l.get(node)
	if !ok {
		return false
	}
	if via := l.relay.route(node); via != "" {
		// The peer does not hear us directly: a copy goes through the
		// relay, and the direct one too, which is the first to arrive
		// when the path heals (the peer drops the second by seq).
		if r, ok := l.get(via); ok {
			if env, ok := l.relay.wrap(node, kind, msg); ok && r.enqueue(kindProvider, sender, env) {
				l.stats.relaySent.Add(1)
			}
		}
	}
	return k.enqueue(kind, sender, msg)
}

// enqueue queues msg on the link; false if its queue is full.
func (k *link) enqueue(kind string, sender *actor.PID, msg proto.Message) bool {
	l := k.l
	k.mu.Lock()
	// A peer unreachable for longer than the failure timeout has dropped
	// our readers and will ask for a snapshot: what waits for it is stale.
	if !k.downAt.IsZero() && time.Since(k.downAt) > l.writeTimeout {
		clear(k.queue)
		k.queue = k.queue[:0]
	}
	if len(k.queue) >= linkQueueMax {
		k.mu.Unlock()
		l.stats.linkDropped.Add(1)
		return false
	}
	k.queue = append(k.queue, outMsg{kind: kind, sender: sender, msg: msg})
	k.mu.Unlock()
	k.poke()
	return true
}

// addr is where the link to node dials now.
func (l *links) addr(node string) string {
	if k, ok := l.get(node); ok {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.addr
	}
	return ""
}

// connected reports whether the link to node has a connection now.
func (l *links) connected(node string) bool {
	k, ok := l.get(node)
	return ok && k.up.Load()
}

// retarget makes the link to node dial addr from now on (the peer moved).
func (l *links) retarget(node, addr string) {
	k, ok := l.get(node)
	if !ok {
		return
	}
	k.mu.Lock()
	changed := k.addr != addr
	k.addr = addr
	k.recycle = k.recycle || changed
	k.mu.Unlock()
	k.poke()
}

// recycle drops the link's connection and dials again: the peer says it
// does not hear us although we have a connection (a stalled link).
func (l *links) recycle(node string) {
	if k, ok := l.get(node); ok && k.up.Load() {
		k.mu.Lock()
		k.recycle = true
		k.mu.Unlock()
		k.poke()
	}
}

// close sends what is queued (a Goodbye, typically) for at most d, then
// closes every connection and waits for the links to stop.
func (l *links) close(d time.Duration) {
	l.mu.Lock()
	l.closing = true // add makes no more links
	all := make([]*link, 0, len(l.byNode))
	for _, k := range l.byNode {
		all = append(all, k)
	}
	l.mu.Unlock()
	for _, k := range all {
		k.mu.Lock()
		k.draining = true
		k.mu.Unlock()
		k.poke()
	}
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
	l.cancel()
	<-done
}

// add makes a link to a node that joined, dialling addr; false if there is
// one already.
func (l *links) add(node, addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byNode[node]; ok || l.closing {
		return false
	}
	k := l.newLink(node, addr)
	l.byNode[node] = k
	if l.notify != nil {
		l.run(k)
	}
	return true
}

// remove closes the link to a node that was forgotten and drops what waits
// for it. Its goroutine ends on its own.
func (l *links) remove(node string) {
	l.mu.Lock()
	k, ok := l.byNode[node]
	delete(l.byNode, node)
	l.mu.Unlock()
	if ok {
		k.cancel()
	}
}

// connectedTo reports whether a link to addr has a connection now.
func (l *links) connectedTo(addr string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, k := range l.byNode {
		k.mu.Lock()
		at := k.addr
		k.mu.Unlock()
		if at == addr && k.up.Load() {
			return true
		}
	}
	return false
}

// has reports whether node is a peer (configured, or joined and not
// forgotten).
func (l *links) has(node string) bool {
	_, ok := l.get(node)
	return ok
}

func (k *link) poke() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// run dials, sends, and dials again when the connection breaks, until the
// links close.
func (k *link) run() {
	ctx := k.ctx
	defer k.cancel()
	failures := 0
	for ctx.Err() == nil {
		k.mu.Lock()
		addr, draining := k.addr, k.draining
		k.recycle = false
		k.mu.Unlock()
		if draining && !k.pending() {
			return
		}
		conn, stream, err := k.dial(ctx, addr)
		if err != nil {
			k.l.stats.linkDialFailures.Add(1)
			k.l.log.Debug("cluster link dial failed", "peer", k.node, "addr", addr, "err", err)
			if draining {
				return
			}
			failures++
			k.sleep(ctx, min(time.Duration(failures)*50*time.Millisecond, k.l.backoffMax))
			continue
		}
		since := time.Now()
		k.mu.Lock()
		k.downAt = time.Time{}
		k.mu.Unlock()
		k.up.Store(true)
		k.l.log.Debug("cluster link up", "peer", k.node, "addr", addr)
		for _, pid := range k.l.notify {
			k.l.engine.Send(pid, linkUp{node: k.node, addr: addr})
		}
		err = k.pump(ctx, conn, stream)
		k.up.Store(false)
		_ = conn.Close()
		k.mu.Lock()
		k.downAt = time.Now()
		k.mu.Unlock()
		if ctx.Err() != nil || errors.Is(err, errDrained) {
			return
		}
		k.l.stats.linkDrops.Add(1)
		k.l.log.Debug("cluster link down", "peer", k.node, "addr", addr, "err", err, "lived", time.Since(since).Round(time.Millisecond).String())
		// A connection that keeps breaking at once (a peer that accepts
		// and resets) backs off; one that lived a while redials at once.
		if time.Since(since) > time.Second {
			failures = 0
		} else {
			failures++
		}
		k.sleep(ctx, min(time.Duration(failures)*50*time.Millisecond, k.l.backoffMax))
	}
}

func (k *link) pending() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.queue) > 0
}

func (k *link) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

var (
	errDrained  = errors.New("links closed")
	errRecycled = errors.New("recycled")
)

// dial opens a connection and a Receive stream to a peer's remote. The TLS
// handshake, if any, is inside the dial timeout.
func (k *link) dial(ctx context.Context, addr string) (*drpcconn.Conn, remote.DRPCRemote_ReceiveClient, error) {
	d := &net.Dialer{Timeout: k.l.dialTimeout}
	var raw net.Conn
	var err error
	if k.l.tls != nil {
		raw, err = (&tls.Dialer{NetDialer: d, Config: k.l.tls}).DialContext(ctx, "tcp", addr)
		// The config accepts any peer's certificate (it also serves inbound
		// connections); the one we dialled must be the node we meant.
		if err == nil && !certNames(raw.(*tls.Conn).ConnectionState(), k.node) {
			_ = raw.Close()
			err = fmt.Errorf("the certificate at %s does not name node %q", addr, k.node)
		}
	} else {
		raw, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, err
	}
	conn := drpcconn.New(&deadlineConn{Conn: raw, timeout: k.l.writeTimeout})
	stream, err := remote.NewDRPCRemoteClient(conn).Receive(ctx)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return conn, stream, nil
}

// pump sends queued messages until the connection breaks, the link is
// recycled, or the links close.
func (k *link) pump(ctx context.Context, conn *drpcconn.Conn, stream remote.DRPCRemote_ReceiveClient) error {
	ser := remote.ProtoSerializer{}
	for {
		k.mu.Lock()
		recycle, draining := k.recycle, k.draining
		batch := k.queue[:min(len(k.queue), linkBatchMax)]
		addr := k.addr
		k.mu.Unlock()
		if recycle {
			k.l.stats.linkStalls.Add(1)
			k.l.rlog.Info("recycled/"+k.node, "cluster link recycled: the peer does not hear us", "peer", k.node, "addr", addr)
			return errRecycled
		}
		if len(batch) == 0 {
			if draining {
				return errDrained
			}
			select {
			case <-k.wake:
				continue
			case <-conn.Closed():
				return errors.New("connection closed")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		env := &remote.Envelope{}
		types, targets, senders := map[string]int32{}, map[string]int32{}, map[string]int32{}
		index := func(m map[string]int32, key string, add func()) int32 {
			i, ok := m[key]
			if !ok {
				i = int32(len(m))
				m[key] = i
				add()
			}
			return i
		}
		for _, m := range batch {
			data, err := ser.Serialize(m.msg)
			if err != nil {
				k.l.log.Error("cluster: serialize", "err", err)
				continue
			}
			name := ser.TypeName(m.msg)
			target := m.kind + "/" + k.node
			msg := &remote.Message{
				Data:          data,
				TypeNameIndex: index(types, name, func() { env.TypeNames = append(env.TypeNames, name) }),
				TargetIndex:   index(targets, target, func() { env.Targets = append(env.Targets, actor.NewPID(addr, target)) }),
			}
			if m.sender != nil {
				msg.SenderIndex = index(senders, m.sender.ID, func() { env.Senders = append(env.Senders, m.sender) })
			}
			env.Messages = append(env.Messages, msg)
		}
		err := stream.Send(env)
		k.mu.Lock()
		// Sent or lost with the connection, the batch is done with: a lost
		// one shows as a gap in seq, and the peer asks for a snapshot.
		n := copy(k.queue, k.queue[len(batch):])
		clear(k.queue[n:])
		k.queue = k.queue[:n]
		k.mu.Unlock()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				k.l.stats.linkStalls.Add(1)
				k.l.rlog.Warn("stalled/"+k.node, "cluster link stalled: a write took longer than the failure timeout", "peer", k.node, "addr", addr)
			}
			return err
		}
	}
}

// deadlineConn bounds every write: a peer (or anything in between) that
// stops reading breaks the connection instead of holding the link forever.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
