package web

import (
	"container/list"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// trackingListener counts and bounds the connections of the HTTP port.
//
// Plain HTTP connections (WebSockets not counted) are capped at max. When a
// connection arrives at the cap, the one that has waited longest without
// sending a request (a new connection that said nothing yet, or a keep-alive
// one between requests) is closed to make room; only when every connection
// is busy with a request is the newcomer refused (503). So idle sockets
// cannot starve readers: a flood of silent connections only evicts itself,
// and a connection that upgrades to a WebSocket leaves the count (its own cap
// is Config.MaxReaders).
//
// It also remembers every connection so Shutdown can close the ones fasthttp
// would wait for forever: a browser's speculative preconnect sends no
// request, is never idle, and holds ShutdownWithContext until its deadline
// (seen with Chromium).
type trackingListener struct {
	net.Listener
	max     int
	metrics *metrics
	log     *limitedLog

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	quiet list.List // of *trackedConn waiting for a request, longest first
	http  int       // open connections not upgraded to WebSockets
}

func newTrackingListener(ln net.Listener, max int, m *metrics, log *slog.Logger) *trackingListener {
	return &trackingListener{Listener: ln, max: max, metrics: m, conns: make(map[*trackedConn]struct{}),
		log: newLimitedLog(log, "http connection cap reached: evicting idle connections, refusing when all are busy",
			"max_http_conns", max)}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var victim *trackedConn
		if l.http >= l.max {
			if e := l.quiet.Front(); e != nil {
				victim = e.Value.(*trackedConn)
				l.unquietLocked(victim)
			}
		}
		full := l.http >= l.max && victim == nil
		l.mu.Unlock()
		if full {
			l.metrics.refused.WithLabelValues("http_conns").Inc()
			l.log.event()
			refuse(c)
			continue
		}
		if victim != nil {
			l.metrics.refused.WithLabelValues("http_idle_evicted").Inc()
			l.log.event()
			_ = victim.Close()
		}
		tc := &trackedConn{Conn: c, l: l, accepted: nanotime()}
		l.mu.Lock()
		l.conns[tc] = struct{}{}
		l.http++
		l.quietLocked(tc)
		l.mu.Unlock()
		return tc, nil
	}
}

// refuse answers a connection over the cap without reading from it.
func refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
	_ = c.Close()
}

// connState is fasthttp's ConnState hook: a connection between requests can
// be evicted again.
func (l *trackingListener) connState(c net.Conn, state fasthttp.ConnState) {
	tc, ok := c.(*trackedConn)
	if !ok || state != fasthttp.StateIdle {
		return
	}
	l.mu.Lock()
	if _, open := l.conns[tc]; open && !tc.ws {
		l.quietLocked(tc)
	}
	l.mu.Unlock()
}

func (l *trackingListener) quietLocked(c *trackedConn) {
	if c.elem == nil {
		c.elem = l.quiet.PushBack(c)
		c.quiet.Store(true)
	}
}

func (l *trackingListener) unquietLocked(c *trackedConn) {
	if c.elem != nil {
		l.quiet.Remove(c.elem)
		c.elem = nil
		c.quiet.Store(false)
	}
}

// upgrade moves c from the HTTP count to the WebSockets: it can no longer be
// evicted, and release runs once when it closes. It reports false if c is
// already closed.
func (l *trackingListener) upgrade(c *trackedConn, release func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, open := l.conns[c]; !open || c.ws {
		return false
	}
	l.unquietLocked(c)
	c.ws, c.release = true, release
	l.http--
	l.metrics.acceptToUpgrade.Observe(float64(nanotime()-c.accepted) / 1e9)
	return true
}

// downgrade undoes upgrade when the WebSocket handshake failed and the
// connection stays a plain HTTP one.
func (l *trackingListener) downgrade(c *trackedConn) {
	l.mu.Lock()
	release := c.release
	if _, open := l.conns[c]; open && c.ws {
		c.ws, c.release = false, nil
		l.http++
	} else {
		release = nil
	}
	l.mu.Unlock()
	if release != nil {
		release()
	}
}

// forget drops c's bookkeeping; the first call wins.
func (l *trackingListener) forget(c *trackedConn) {
	l.mu.Lock()
	if _, open := l.conns[c]; !open {
		l.mu.Unlock()
		return
	}
	delete(l.conns, c)
	l.unquietLocked(c)
	release := c.release
	if !c.ws {
		l.http--
	}
	l.mu.Unlock()
	if release != nil {
		release()
	}
}

// HTTPConns reports the port's plain HTTP connections: idle ones (waiting
// for a request, evicted first at the cap) and busy ones.
func (s *Server) HTTPConns() (idle, busy int) {
	s.mu.Lock()
	l := s.listener
	s.mu.Unlock()
	if l == nil {
		return 0, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.quiet.Len(), l.http - l.quiet.Len()
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	all := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		all = append(all, c)
	}
	l.mu.Unlock()
	for _, c := range all {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l        *trackingListener
	quiet    atomic.Bool // waiting for a request: in l.quiet
	accepted int64       // nanotime() when accepted

	// Guarded by l.mu.
	elem    *list.Element
	ws      bool
	release func()

	// Corking (see cork): every write goes through wmu, so a pong written
	// by the reading goroutine cannot overtake frames gathered before it.
	wmu    sync.Mutex
	corked bool
	wbuf   *[]byte // from corkBufs while corked
}

// corkBufs holds the buffers of corked connections; an idle connection
// holds none.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// corkFlushAt is how much a corked connection gathers before it writes
// anyway, so one batch of large frames cannot grow a buffer without bound.
const corkFlushAt = 64 << 10

// corkable returns the tracked connection under a hijacked WebSocket's
// net.Conn (fasthttp's hijack wrapper exposes it as UnsafeConn), or nil.
func corkable(c net.Conn) *trackedConn {
	if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
		c = u.UnsafeConn()
	}
	tc, _ := c.(*trackedConn)
	return tc
}

// cork makes writes gather in a buffer until uncork writes them all at
// once: a WebSocket writer with several frames queued hands them to the
// kernel in one write instead of one each (on loopback a write costs as
// much as the frame's encoding many times over).
func (c *trackedConn) cork() {
	c.wmu.Lock()
	if !c.corked {
		c.corked = true
		c.wbuf = corkBufs.Get().(*[]byte)
	}
	c.wmu.Unlock()
}

// uncork writes what cork gathered, with deadline, and stops gathering.
func (c *trackedConn) uncork(deadline time.Time) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.corked {
		return nil
	}
	c.corked = false
	b := c.wbuf
	c.wbuf = nil
	var err error
	if len(*b) > 0 {
		_ = c.Conn.SetWriteDeadline(deadline)
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= corkFlushAt*2 {
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
	return err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	*c.wbuf = append(*c.wbuf, p...)
	if len(*c.wbuf) < corkFlushAt {
		return len(p), nil
	}
	_, err := c.Conn.Write(*c.wbuf)
	*c.wbuf = (*c.wbuf)[:0]
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Read marks the connection busy once a request starts arriving.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.quiet.Load() {
		c.l.mu.Lock()
		c.l.unquietLocked(c)
		c.l.mu.Unlock()
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.l.forget(c)
	return c.Conn.Close()
}

// start is the origin of nanotime: a monotonic clock in 8 bytes per
// connection rather than a 24-byte time.Time.
var start = time.Now()

func nanotime() int64 { return int64(time.Since(start)) }
