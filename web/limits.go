package web

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
)

var errNotTracked = errors.New("websocket upgrade on a connection the listener does not track")

// retryAfter is what a refused upgrade is told to wait.
const retryAfter = 10 * time.Second

// admit reserves a WebSocket for ip on the connection of c, or says why not
// (503 over MaxReaders, 429 over MaxReadersPerIP, which counts addresses as
// addrKey groups them). The reservation is returned when the connection
// closes, however the handshake or the WebSocket ends. A loopback peer (this
// machine: a local proxy not listed in TrustedProxies, a load test) is not
// held to the per-address cap; an address taken from X-Forwarded-For always
// is. onClose, if not nil, runs once when the connection closes, or at once
// when it is not admitted.
func (s *Server) admit(c *fiber.Ctx, ip netip.Addr, viaProxy bool, onClose func()) error {
	if onClose == nil {
		onClose = func() {}
	}
	tc, ok := c.Context().Conn().(*trackedConn)
	if !ok {
		onClose()
		return internal(errNotTracked)
	}
	key := addrKey(ip, s.cfg.IPv6Prefix)
	counted := !ip.IsLoopback() || viaProxy
	s.mu.Lock()
	var why string
	switch {
	case s.admitted >= s.cfg.MaxReaders:
		why = "max_readers"
	case counted && s.perIP[key] >= s.cfg.MaxReadersPerIP:
		why = "max_readers_per_ip"
	default:
		s.admitted++
		if counted {
			s.perIP[key]++
		}
	}
	s.mu.Unlock()
	if why != "" {
		onClose()
		s.metrics.refused.WithLabelValues(why).Inc()
		s.refusals[why].event()
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retryAfter.Seconds())))
		if why == "max_readers" {
			return errorf(EBUSY, "This server has as many live readers as it can take; try again in a little while.")
		}
		return errorf(ETOOMANY, "Too many live connections from your address; try again in a little while.")
	}
	release := func() {
		defer onClose()
		s.mu.Lock()
		s.admitted--
		if counted {
			if s.perIP[key]--; s.perIP[key] <= 0 {
				delete(s.perIP, key)
			}
		}
		s.mu.Unlock()
	}
	if !tc.l.upgrade(tc, release) {
		release()
		return errorf(EBUSY, "The connection closed.")
	}
	if err := c.Next(); err != nil {
		tc.l.downgrade(tc)
		return err
	}
	return nil
}

// addrKey is the client that the per-address cap counts ip as: an IPv4
// address (IPv4-mapped IPv6 included) by itself, an IPv6 address by its
// first v6Bits bits. Anyone with IPv6 holds at least a /64 (RFC 6177), so a
// cap per full IPv6 address would cap nobody.
func addrKey(ip netip.Addr, v6Bits int) netip.Prefix {
	ip = ip.Unmap()
	bits := ip.BitLen()
	if ip.Is6() {
		bits = v6Bits
	}
	p, _ := ip.Prefix(bits) // bits is in range: New checks IPv6Prefix
	return p
}

// clientIP is the address a request comes from: the TCP peer, or behind
// Config.TrustedProxies the rightmost X-Forwarded-For hop that is not a
// trusted proxy (the hops to its left are whatever the client claimed).
// viaProxy says the address came from the header.
func (s *Server) clientIP(c *fiber.Ctx) (ip netip.Addr, viaProxy bool) {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer, false
	}
	return forwardedFor(peer, c.Request().Header.PeekAll(fiber.HeaderXForwardedFor), s.trusted)
}

// forwardedFor walks the X-Forwarded-For headers from the right; fromHeader
// is false when there is no usable hop and the answer is the peer.
func forwardedFor(peer netip.Addr, headers [][]byte, trusted func(netip.Addr) bool) (ip netip.Addr, fromHeader bool) {
	var hops [][]byte
	for _, h := range headers {
		hops = append(hops, bytes.Split(h, []byte(","))...)
	}
	ip = peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			// Garbage from the client: the proxy to its right is the last
			// address anyone vouched for.
			return ip, fromHeader
		}
		ip, fromHeader = hop, true
		if !trusted(hop) {
			return ip, true
		}
	}
	return ip, fromHeader
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a port.
func parseHop(b []byte) (netip.Addr, bool) {
	s := string(bytes.TrimSpace(b))
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// frameBudget holds one WebSocket's client, on every path (a post's
// socket and the index's), to Config.MaxFramesPerSecond frames a second:
// data frames, pings and pongs draw on one bucket. The library handles
// pings and pongs inside NextReader, out of the read loop's sight, so the
// handlers limitFrames installs count them: unbounded, one socket's ping
// or pong flood held most of a core (docs/security.md). Its methods and
// handlers run on the connection's reading goroutine only.
type frameBudget struct {
	bucket  *bucket
	tooMany string              // the close reason
	over    func(reason string) // closes the connection with closePolicy
	stopped bool
}

// limitFrames gives ws its frame budget: a ping within it is answered, a
// pong within it calls alive (which extends the read deadline). The first
// frame over it, whichever kind, calls over with the close reason (the
// caller sends close 1008 with it); from then on, as after stop, pings go
// unanswered and pongs keep nothing alive. The read loop calls take for
// each data frame.
func (s *Server) limitFrames(ws *websocket.Conn, alive func(), over func(reason string)) *frameBudget {
	f := &frameBudget{
		bucket:  newBucket(s.cfg.MaxFramesPerSecond, time.Now()),
		tooMany: fmt.Sprintf("too many messages: at most %d per second", s.cfg.MaxFramesPerSecond),
		over:    over,
	}
	ws.SetPongHandler(func(string) error {
		if f.take() {
			alive()
		}
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		if !f.take() {
			return nil
		}
		// As the library's own handler: a pong that cannot be written
		// ends nothing here; the writer or the read deadline notices.
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(s.cfg.WriteWait))
		var ne net.Error
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) && !errors.As(err, &ne) {
			return err
		}
		return nil
	})
	return f
}

// take draws one frame from the budget. It is false once the connection is
// ending (over was called, or stop); the frame that overdraws it calls over.
func (f *frameBudget) take() bool {
	if f.stopped {
		return false
	}
	if f.bucket.take(time.Now()) {
		return true
	}
	f.stopped = true
	f.over(f.tooMany)
	return false
}

// stop is for a connection that the server closes for another cause: pings
// go unanswered and pongs keep nothing alive while it drains.
func (f *frameBudget) stop() { f.stopped = true }

// bucket is a token bucket: up to rate frames at once, refilled at rate per
// second, so a client may burst but not sustain more than rate a second.
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newBucket(rate int, now time.Time) *bucket {
	return &bucket{rate: float64(rate), tokens: float64(rate), last: now}
}

func (b *bucket) take(now time.Time) bool {
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limitedLog writes one warning when a limit starts refusing, then at most
// one every 10 s with how many were refused since, so a flood cannot flood
// the log.
type limitedLog struct {
	log   *slog.Logger
	msg   string
	attrs []any

	mu      sync.Mutex
	last    time.Time
	skipped int
}

func newLimitedLog(log *slog.Logger, msg string, attrs ...any) *limitedLog {
	return &limitedLog{log: log, msg: msg, attrs: attrs}
}

func (l *limitedLog) event() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && time.Since(l.last) < 10*time.Second {
		l.skipped++
		return
	}
	l.log.Warn(l.msg, append(l.attrs, "refused_since_last_line", l.skipped)...)
	l.last, l.skipped = time.Now(), 0
}
