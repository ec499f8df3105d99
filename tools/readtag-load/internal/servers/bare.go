package servers

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag/tools/readtag-load/internal/cli"
	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
)

// The bare server is the floor of readtag's stack: Fiber v2 and
// gofiber/contrib/websocket, as readtag uses them, doing only what a reader
// of the idle scenario needs: an index listing posts, an upgrade on
// /ws/posts/:slug, a protocol-v1 welcome, and ping/pong liveness as
// readtag's (a ping every 5 s, 12 s to hear anything back). Scrolls are
// read and dropped: no presence, no rooms, no actors. What the tool measures
// per reader against it is what the stack costs before readtag adds
// anything.

// Liveness as readtag's defaults (web.Config PingInterval, PongWait,
// WriteWait).
const (
	barePingEvery = 5 * time.Second
	barePongWait  = 12 * time.Second
	bareWriteWait = 10 * time.Second
	// bareIndexPosts is how many posts the index lists: load-0001 to
	// load-1000, the slugs --make-posts --count 1000 writes, so that idle
	// --posts-count M runs against it unchanged for any M up to 1000.
	bareIndexPosts = 1000
)

// bareBufferSets are the --buffers variants of the bare server.
var bareBufferSets = map[string]websocket.Config{
	// contrib's defaults (websocket.New makes zero sizes 1024): 1 KiB read
	// and write buffers, both held for the life of each connection.
	"default": {},
	// readtag's /ws/posts: 1 KiB buffers, the write buffer only while
	// writing.
	"readtag": {ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}},
	// trimmed: a 256-byte read buffer (a scroll frame is ~40 bytes) and a
	// pooled write buffer.
	"trimmed": {ReadBufferSize: 256, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}},
}

// BufferSetNames lists the buffer sets, for messages.
const BufferSetNames = "default, readtag or trimmed"

// HasBuffers reports whether name is a buffer set.
func HasBuffers(name string) bool {
	_, ok := bareBufferSets[name]
	return ok
}

// BareConfig is how the bare server runs.
type BareConfig struct {
	// Buffers names the WebSocket buffers: default, readtag or trimmed.
	Buffers string
	// SharedPinger pings every socket from one goroutine instead of one
	// goroutine per socket.
	SharedPinger bool
	// ReduceMemory sets Fiber's ReduceMemoryUsage.
	ReduceMemory bool
	// RelayTick, if set, relays positions every tick (relay.go).
	RelayTick time.Duration
}

// Bare is the bare server. It tracks its open sockets so that shutdown can
// close them (Fiber does not track upgraded connections).
type Bare struct {
	app       *fiber.App
	pingEvery time.Duration
	pongWait  time.Duration
	// shared: one goroutine pings every socket, instead of one per
	// socket; each reader then costs one goroutine, not two.
	shared bool
	relay  *relay // nil unless --relay-tick (relay.go)
	quit   chan struct{}
	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	done   bool
	wg     sync.WaitGroup
}

// newBareServer builds the server's routes with the given buffers and
// liveness timings.
//
// reduce is fiber.Config.ReduceMemoryUsage: fasthttp then lets go of a
// connection's 4 KiB HTTP read buffer when nothing is buffered, before the
// upgrade; otherwise the hijacked socket keeps it (and reads through it)
// for life.
func newBareServer(cfg websocket.Config, pingEvery, pongWait time.Duration, shared, reduce bool) *Bare {
	b := &Bare{conns: make(map[*websocket.Conn]struct{}), pingEvery: pingEvery, pongWait: pongWait,
		shared: shared, quit: make(chan struct{})}
	if shared {
		go b.pingAll()
	}
	b.app = fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, ReduceMemoryUsage: reduce})
	b.app.Get("/", b.handleIndex)
	b.app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	b.app.Get("/posts/:slug", b.handlePost)
	b.app.Get("/ws/posts/:slug", b.handleUpgrade, websocket.New(b.serveWS, cfg))
	return b
}

// NewBare builds the bare server of cfg, with readtag's liveness timings.
func NewBare(cfg BareConfig) (*Bare, error) {
	set, ok := bareBufferSets[cfg.Buffers]
	if !ok {
		return nil, cli.Usagef("--buffers %q: want %s", cfg.Buffers, BufferSetNames)
	}
	b := newBareServer(set, barePingEvery, barePongWait, cfg.SharedPinger, cfg.ReduceMemory)
	if cfg.RelayTick > 0 {
		b.relay = newRelay(cfg.RelayTick)
	}
	return b, nil
}

// Serve serves on ln until Shutdown.
func (b *Bare) Serve(ln net.Listener) error { return b.app.Listener(ln) }

// Shutdown closes every socket with 1001, waits (at most d) for their
// handlers, then stops serving (within d again).
func (b *Bare) Shutdown(d time.Duration) error {
	b.shutdown(d)
	return b.app.ShutdownWithTimeout(d)
}

// ServeBare runs the bare server on addr until ctx ends (or, with
// exitOnEOF, until stdin closes). The first line on stdout names its URL.
func ServeBare(ctx context.Context, addr string, cfg BareConfig, exitOnEOF bool, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bare server: listen on %s: %w", addr, err)
	}
	b, err := NewBare(cfg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	relaying := ""
	if cfg.RelayTick > 0 {
		relaying = fmt.Sprintf(", relaying positions every %v", cfg.RelayTick)
	}
	served := make(chan error, 1)
	go func() { served <- b.Serve(ln) }()
	pinger := "a pinger per socket"
	if cfg.SharedPinger {
		pinger = "one shared pinger"
	}
	fmt.Fprintf(stdout, "bare server (%s buffers, %s, ReduceMemoryUsage %v%s) listening on http://%s\n", cfg.Buffers, pinger, cfg.ReduceMemory, relaying, ln.Addr())
	if ended, err := untilStopped(ctx, served, exitOnEOF); ended {
		return err
	}
	return b.Shutdown(4 * time.Second)
}

// handleIndex is GET /: the posts, as links the tool's index parser reads.
func (b *Bare) handleIndex(c *fiber.Ctx) error {
	var sb strings.Builder
	sb.WriteString("<!doctype html><title>bare</title><h1>Bare echo server</h1><ul>")
	for i := 1; i <= bareIndexPosts; i++ {
		fmt.Fprintf(&sb, `<li><a href="/posts/load-%04d">Load %d</a></li>`, i, i)
	}
	sb.WriteString("</ul>")
	c.Type("html")
	return c.SendString(sb.String())
}

// handlePost is GET /posts/:slug: any well-formed slug exists.
func (b *Bare) handlePost(c *fiber.Ctx) error {
	if !protocol.SlugPattern.MatchString(c.Params("slug")) {
		return fiber.ErrNotFound
	}
	c.Type("html")
	return c.SendString("<!doctype html><title>post</title><article>Text.</article>")
}

// handleUpgrade lets WebSocket upgrades of well-formed slugs through.
func (b *Bare) handleUpgrade(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return fiber.ErrUpgradeRequired
	}
	if s := c.Params("slug"); !protocol.SlugPattern.MatchString(s) || len(s) > 100 {
		return fiber.ErrNotFound
	}
	return c.Next()
}

// serveWS is one reader: a welcome, then reads (dropped) with the read
// deadline extended by each frame and pong, while a second goroutine pings,
// as readtag's writer goroutine does. Nothing keeps the Conn after return:
// contrib reuses it for the next client.
func (b *Bare) serveWS(ws *websocket.Conn) {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	b.conns[ws] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.conns, ws)
		b.mu.Unlock()
		b.wg.Done()
	}()

	var raw [8]byte
	_, _ = rand.Read(raw[:])
	id := idEnc.EncodeToString(raw[:])
	var rs *relaySock
	if b.relay != nil {
		rs = newRelaySock(id, ws) // before the welcome: moves from then on are its
	}
	welcome := fmt.Appendf(nil, `{"type":"welcome","you":{"id":%q,"color":"#0090ff","position":0},"readers":[]}`, id)
	_ = ws.SetWriteDeadline(time.Now().Add(bareWriteWait))
	if ws.WriteMessage(websocket.TextMessage, welcome) != nil {
		return
	}
	ws.SetReadLimit(1024)
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(b.pongWait)) }
	extend()
	ws.SetPongHandler(func(string) error { extend(); return nil })
	if rs != nil {
		b.relay.add(rs)
		defer b.relay.remove(rs)
	}
	if b.shared {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if rs != nil {
				rs.scrolled(data)
			}
			extend()
		}
	}

	stop, pinged := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(pinged)
		t := time.NewTicker(b.pingEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(bareWriteWait)) != nil {
					_ = ws.NetConn().Close() // the read below ends
					return
				}
			}
		}
	}()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		if rs != nil {
			rs.scrolled(data)
		}
		extend()
	}
	close(stop)
	<-pinged
}

// pingAll is the shared pinger: every pingEvery it pings each open socket,
// holding mu so that no handler returns (and contrib reuses its Conn)
// meanwhile. WriteControl is safe beside the handler's reads and writes.
func (b *Bare) pingAll() {
	t := time.NewTicker(b.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-b.quit:
			return
		case <-t.C:
		}
		b.mu.Lock()
		for ws := range b.conns {
			if ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(bareWriteWait)) != nil {
				_ = ws.NetConn().Close() // its read ends
			}
		}
		b.mu.Unlock()
	}
}

// shutdown closes every socket with 1001 and waits (at most d) for the
// handlers to return.
func (b *Bare) shutdown(d time.Duration) {
	b.mu.Lock()
	if !b.done {
		close(b.quit)
		if b.relay != nil {
			defer b.relay.stop()
		}
	}
	b.done = true
	for ws := range b.conns {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = ws.NetConn().Close()
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
