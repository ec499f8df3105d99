package remote

// READTAG PATCH: this file is not in upstream v1.0.5. It replaces
// drpcserver.Serve for inbound connections so that no peer, and nobody who
// can merely reach the port, can crash, stall or exhaust the node:
//   - temporary accept errors (EMFILE, ENFILE, ECONNABORTED) are retried
//     with a back-off, as net/http does, and logged once per episode;
//   - at most Config.MaxConns inbound connections are kept; at the cap the
//     oldest connection still in its TLS handshake makes room, or the new
//     one is closed;
//   - a TLS handshake must finish within Config.HandshakeTimeout, and a
//     connection that sends nothing for Config.IdleTimeout is closed;
//   - a panic while serving a connection closes that connection only;
//   - the verified peer (PeerInfo) travels in the stream's context, so that
//     Config.Authorize can judge each message by who sent it.

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"storj.io/drpc/drpcserver"
)

// Defaults for the inbound limits of Config.
const (
	DefaultMaxConns         = 1024
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultIdleTimeout      = connIdleTimeout // as long as the stream writer's own
)

// PeerInfo is what the remote knows of the other end of an inbound
// connection.
type PeerInfo struct {
	Addr net.Addr
	// TLS is the state of the finished handshake, with the verified peer
	// certificates; nil when the remote runs without TLS.
	TLS *tls.ConnectionState
}

// AuthorizeFunc decides whether a message that arrived from peer may be
// delivered to target. A message it refuses is dropped.
type AuthorizeFunc func(peer PeerInfo, target, sender *actor.PID, msg any) bool

type peerKey struct{}

func peerFrom(ctx context.Context) PeerInfo {
	p, _ := ctx.Value(peerKey{}).(PeerInfo)
	return p
}

// serve accepts connections on ln until ctx ends, and waits for the
// connections it served to close.
func (r *Remote) serve(ctx context.Context, ln net.Listener, s *drpcserver.Server) {
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
				slog.Error("remote listener failed", "addr", r.addr, "err", err)
				return
			}
			if failed == 0 {
				slog.Error("remote accept failing, retrying", "addr", r.addr, "err", err)
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
			slog.Warn("remote accepting again", "addr", r.addr, "failed_accepts", failed)
			failed, delay = 0, 0
		}
		if !conns.admit(conn, r.config.MaxConns) {
			r.connLog.warn("remote connection refused: too many", "remote", conn.RemoteAddr().String(), "max", r.config.MaxConns)
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

func (r *Remote) serveConn(ctx context.Context, s *drpcserver.Server, raw net.Conn, conns *connSet) {
	defer func() {
		if v := recover(); v != nil {
			r.connLog.warn("remote connection panicked: closed", "remote", raw.RemoteAddr().String(), "panic", v)
		}
	}()
	conn := net.Conn(&idleConn{Conn: raw, idle: r.config.IdleTimeout})
	peer := PeerInfo{Addr: raw.RemoteAddr()}
	if r.config.TLSConfig != nil {
		tc := tls.Server(conn, r.config.TLSConfig)
		hctx, cancel := context.WithTimeout(ctx, r.config.HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		// EOF: closed without a word (a port probe); ctx done: we are stopping.
		if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
			r.connLog.warn("remote connection refused: TLS handshake", "remote", raw.RemoteAddr().String(), "err", err)
		}
		if err != nil {
			return
		}
		st := tc.ConnectionState()
		peer.TLS = &st
		conn = tc
	}
	conns.established(raw)
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

// logLimiter lets one warning through per interval and counts the rest, so
// that a flood of bad input cannot flood the log.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

const logEvery = 10 * time.Second

func (l *logLimiter) warn(msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < logEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed_since_last", n)
	}
	slog.Warn(msg, args...)
}
