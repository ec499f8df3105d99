package servers

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
)

// The baseline is a deliberately naive server for protocol v1, built the way
// the original Phoenix design behaved: every scroll is broadcast at once to
// every other reader of the post as a moves frame of its own — no tick, no
// coalescing — each socket guarded by one write mutex, written to from the
// scrolling reader's goroutine. It exists only so that readtag's numbers
// have something to be compared with; it is not a reference implementation.

// baselineSlugs are the posts its index lists (those readtag embeds); it
// accepts any well-formed slug.
var baselineSlugs = []string{"how-readtag-works", "reading-together", "fractions-not-pixels", "actors-in-go"}

var baselineColors = []string{"#e5484d", "#f76b15", "#d4a017", "#46a758", "#12a594", "#0090ff",
	"#3e63dd", "#8e4ec6", "#d6409f", "#ad7f58", "#978365", "#5b5bd6"}

type baseline struct {
	up    websocket.Upgrader
	mu    sync.Mutex
	rooms map[string]*broom
	all   map[*bconn]struct{}
	wg    sync.WaitGroup
	done  bool
}

type broom struct {
	mu      sync.Mutex
	members atomic.Pointer[[]*bconn] // copy-on-write: a broadcast reads it lock-free
	next    int
}

type bconn struct {
	ws    *websocket.Conn
	room  *broom
	wmu   sync.Mutex
	id    string
	color string
	pos   atomic.Uint64 // float64 bits
}

func newBaseline() *baseline {
	b := &baseline{rooms: make(map[string]*broom), all: make(map[*bconn]struct{})}
	b.up = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024, CheckOrigin: sameOrigin}
	return b
}

// sameOrigin accepts no Origin (not a browser) or the server's own.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (b *baseline) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>baseline</title><h1>Naive baseline server</h1><ul>")
		for _, s := range baselineSlugs {
			fmt.Fprintf(w, `<li><a href="/posts/%s">%s</a></li>`, s, html.EscapeString(s))
		}
		fmt.Fprint(w, "</ul>")
	})
	mux.HandleFunc("GET /posts/{slug}", func(w http.ResponseWriter, r *http.Request) {
		if !protocol.SlugPattern.MatchString(r.PathValue("slug")) {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<!doctype html><title>%s</title><article>Text.</article>", html.EscapeString(r.PathValue("slug")))
	})
	mux.HandleFunc("GET /ws/posts/{slug}", b.serveWS)
	return mux
}

func (b *baseline) room(slug string) *broom {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rooms[slug]
	if r == nil {
		r = &broom{}
		r.members.Store(&[]*bconn{})
		b.rooms[slug] = r
	}
	return r
}

var idEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func (b *baseline) serveWS(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if !protocol.SlugPattern.MatchString(slug) || len(slug) > 100 {
		http.NotFound(w, r)
		return
	}
	ws, err := b.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	var raw [8]byte
	_, _ = rand.Read(raw[:])
	c := &bconn{ws: ws, id: idEnc.EncodeToString(raw[:])}
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		_ = ws.Close()
		return
	}
	b.all[c] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.all, c)
		b.mu.Unlock()
		b.wg.Done()
	}()

	room := b.room(slug)
	c.room = room
	// Hold our own write lock while joining, so that no broadcast reaches
	// this socket before its welcome.
	c.wmu.Lock()
	room.mu.Lock()
	c.color = baselineColors[room.next%len(baselineColors)]
	room.next++
	old := *room.members.Load()
	others := make([]*bconn, len(old), len(old)+1)
	copy(others, old)
	room.members.Store(ptr(append(others, c)))
	room.mu.Unlock()
	welcome := fmt.Appendf(nil, `{"type":"welcome","you":%s,"readers":[`, readerJSON(c))
	for i, o := range old {
		if i > 0 {
			welcome = append(welcome, ',')
		}
		welcome = append(welcome, readerJSON(o)...)
	}
	welcome = append(welcome, "]}"...)
	_ = c.write(welcome)
	c.wmu.Unlock()
	broadcast(old, c, fmt.Appendf(nil, `{"type":"join","reader":%s}`, readerJSON(c)))

	stopPing := make(chan struct{})
	go c.ping(stopPing)
	c.read()
	close(stopPing)

	room.mu.Lock()
	cur := *room.members.Load()
	rest := make([]*bconn, 0, len(cur))
	for _, m := range cur {
		if m != c {
			rest = append(rest, m)
		}
	}
	room.members.Store(&rest)
	room.mu.Unlock()
	broadcast(rest, nil, fmt.Appendf(nil, `{"type":"leave","id":%q}`, c.id))
	_ = ws.Close()
}

func ptr[T any](v T) *T { return &v }

func readerJSON(c *bconn) string {
	return fmt.Sprintf(`{"id":%q,"color":%q,"position":%s}`, c.id, c.color,
		strconv.FormatFloat(math.Float64frombits(c.pos.Load()), 'f', -1, 64))
}

// read handles this reader's frames; every scroll is fanned out right here.
func (c *bconn) read() {
	c.ws.SetReadLimit(1024)
	_ = c.ws.SetReadDeadline(time.Now().Add(12 * time.Second))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(12 * time.Second))
	})
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(12 * time.Second))
		var f struct {
			Type     string   `json:"type"`
			Position *float64 `json:"position"`
		}
		if mt != websocket.TextMessage || json.Unmarshal(data, &f) != nil || f.Type != "scroll" ||
			f.Position == nil || *f.Position < 0 || *f.Position > 1 {
			c.lockedWrite([]byte(`{"type":"error","error":"expected {\"type\":\"scroll\",\"position\":P} with P from 0 to 1"}`))
			continue
		}
		p := math.Round(*f.Position*1e4) / 1e4
		c.pos.Store(math.Float64bits(p))
		msg := fmt.Appendf(nil, `{"type":"moves","moves":[{"id":%q,"position":%s}]}`, c.id, strconv.FormatFloat(p, 'f', -1, 64))
		broadcast(*c.room.members.Load(), c, msg)
	}
}

func broadcast(to []*bconn, except *bconn, msg []byte) {
	for _, m := range to {
		if m != except {
			m.lockedWrite(msg)
		}
	}
}

func (c *bconn) lockedWrite(msg []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.write(msg) != nil {
		// A dead peer: its reader goroutine ends on the next read.
		_ = c.ws.NetConn().Close()
	}
}

func (c *bconn) write(msg []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, msg)
}

func (c *bconn) ping(stop chan struct{}) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)) != nil {
				return
			}
		}
	}
}

// shutdown closes every socket with 1001 and waits for the handlers.
func (b *baseline) shutdown(ctx context.Context) {
	b.mu.Lock()
	b.done = true
	for c := range b.all {
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = c.ws.NetConn().Close()
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// ServeBaseline runs the baseline server on addr until ctx ends (or, with
// exitOnEOF, until stdin closes: how a parent stops its child even if the
// parent dies). The first line on stdout names its URL.
func ServeBaseline(ctx context.Context, addr string, exitOnEOF bool, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("baseline: listen on %s: %w", addr, err)
	}
	b := newBaseline()
	srv := &http.Server{Handler: b.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "baseline server listening on http://%s\n", ln.Addr())
	if ended, err := untilStopped(ctx, served, exitOnEOF); ended {
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	b.shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// untilStopped waits until serving ends (ended, with its error), ctx ends,
// or with exitOnEOF stdin closes: how a parent stops its child even if the
// parent dies.
func untilStopped(ctx context.Context, served <-chan error, exitOnEOF bool) (ended bool, err error) {
	eof := make(chan struct{})
	if exitOnEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(eof)
		}()
	}
	select {
	case err := <-served:
		return true, err
	case <-ctx.Done():
	case <-eof:
	}
	return false, nil
}
