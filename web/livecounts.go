package web

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
)

// Counts reports how many readers each post has (package actors'
// Presence.Counts): a version that changes with any count, and the counts
// of posts with readers, nil while the version is still since.
type Counts func(since uint64) (version uint64, counts map[string]int)

// indexHub serves the index page's live counts: while anyone watches, one
// goroutine polls Counts four times per interval and, when a count changed,
// encodes one frame and hands it to every watcher. A watcher holds at most
// one frame, the latest, so a slow one costs no memory and delays nobody;
// its writer sends at most one frame per interval. So a change after a quiet
// spell shows within a quarter interval, and under constant change every
// watcher gets one frame per interval.
type indexHub struct {
	counts   Counts
	interval time.Duration
	// view picks the counts a watcher may see and the keys they go by
	// (published posts by slug for /ws/index; a site's pages by path for
	// /ws/counts).
	view func(counts map[string]int) map[string]int

	mu       sync.Mutex
	subs     map[*indexSub]struct{}
	frame    []byte // the latest frame, shared by all watchers
	version  uint64
	running  bool // the poll loop runs (only while there are watchers)
	stopping bool
	handlers sync.WaitGroup
}

type indexSub struct {
	frames chan []byte   // capacity 1: the latest frame not yet written
	quit   chan struct{} // closed when the server shuts down
}

// countsFrame is the one frame of /ws/index (docs/protocol.md).
type countsFrame struct {
	Type   string         `json:"type"`
	Counts map[string]int `json:"counts"`
}

func newIndexHub(counts Counts, interval time.Duration, view func(map[string]int) map[string]int) *indexHub {
	return &indexHub{counts: counts, interval: interval, view: view, subs: make(map[*indexSub]struct{})}
}

// encode builds the frame for counts, as the hub's view shows them.
func (h *indexHub) encode(counts map[string]int) []byte {
	b, _ := json.Marshal(countsFrame{Type: "counts", Counts: h.view(counts)}) // a map of strings to ints always encodes
	return b
}

// postCounts keeps only published posts' counts, by slug (a peer may know
// posts this node does not list, and drafts are nobody's business).
func (s *Server) postCounts(counts map[string]int) map[string]int {
	listed := s.listed()
	out := make(map[string]int, len(counts))
	for slug, n := range counts {
		if n > 0 && listed[slug] {
			out[slug] = n
		}
	}
	return out
}

// subscribe adds a watcher and gives it the current counts at once; nil
// when the server is stopping.
func (h *indexHub) subscribe() *indexSub {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping {
		return nil
	}
	if !h.running {
		// The table may have changed while nobody watched.
		var counts map[string]int
		h.version, counts = h.counts(0)
		h.frame = h.encode(counts)
		h.running = true
		go h.run()
	}
	sub := &indexSub{frames: make(chan []byte, 1), quit: make(chan struct{})}
	sub.frames <- h.frame
	h.subs[sub] = struct{}{}
	h.handlers.Add(1)
	return sub
}

func (h *indexHub) unsubscribe(sub *indexSub) {
	h.mu.Lock()
	delete(h.subs, sub)
	h.mu.Unlock()
	h.handlers.Done()
}

// run polls while there are watchers.
func (h *indexHub) run() {
	t := time.NewTicker(h.interval / 4)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		if len(h.subs) == 0 || h.stopping {
			h.running = false
			h.mu.Unlock()
			return
		}
		since := h.version
		h.mu.Unlock()
		version, counts := h.counts(since)
		if counts == nil {
			continue
		}
		frame := h.encode(counts)
		h.mu.Lock()
		h.version = version
		if string(frame) != string(h.frame) { // e.g. only a draft's count changed
			h.frame = frame
			for sub := range h.subs {
				select { // replace an unwritten frame with the newer one
				case <-sub.frames:
				default:
				}
				sub.frames <- frame
			}
		}
		h.mu.Unlock()
	}
}

// shutdown tells every watcher's connection to close with 1001.
func (h *indexHub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping {
		return
	}
	h.stopping = true
	for sub := range h.subs {
		close(sub.quit)
	}
}

// handleIndexUpgrade serves GET /ws/index before the upgrade: the same
// origin rules and caps as a post's socket (an index visitor holds a
// WebSocket too, so it counts against MaxReaders and MaxReadersPerIP).
func (s *Server) handleIndexUpgrade(c *fiber.Ctx) error {
	if s.index == nil {
		return errorf(ENOTFOUND, "There is no page at this address.")
	}
	if !s.originAllowed(c) {
		return errorf(EFORBIDDEN, "This site's live readers are not available to pages of other sites.")
	}
	if !fws.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "This address speaks WebSocket only.")
	}
	ip, viaProxy := s.clientIP(c)
	return s.admit(c, ip, viaProxy, nil)
}

// serveIndexWS runs one index visitor's socket: the writer sends counts
// frames and pings; the reader only notices pongs and the end, since a
// visitor has nothing to say (a data frame closes the socket with 1008, as
// does going over the frame budget that every socket has, see limitFrames).
func (s *Server) serveIndexWS(ws *fws.Conn) {
	defer ws.Close() // the server keeps hijacked connections (see New)
	// /ws/counts hands over its site's hub; /ws/index has the index's.
	hub, _ := ws.Locals(localHub).(*indexHub)
	if hub == nil {
		hub = s.index
	}
	sub := hub.subscribe()
	if sub == nil {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(closeGoingAway, "server shutting down"), time.Now().Add(time.Second))
		return
	}
	defer hub.unsubscribe(sub)
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	closing := make(chan struct{}) // the reader sent a close frame
	go func() {
		defer close(writerDone)
		s.writeIndex(ws, sub, readerDone, closing)
	}()
	ws.SetReadLimit(128)
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(s.cfg.PongWait)) }
	extend()
	// After the close frame, what the client still sends is read and
	// dropped until it answers (or for a second): closing TCP on unread
	// data would reset it, and the client would lose the close frame.
	var budget *frameBudget
	end := func(reason string) {
		budget.stop()
		close(closing)
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(closePolicy, reason), time.Now().Add(s.cfg.WriteWait))
		_ = ws.SetReadDeadline(time.Now().Add(time.Second))
	}
	budget = s.limitFrames(ws.Conn, extend, end)
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
		if budget.take() {
			end("the index channel takes no messages")
		}
	}
	close(readerDone)
	<-writerDone
}

// writeIndex is an index socket's only writer. It writes at most one frame
// per interval even when a late tick and the next one come close together
// (a busy machine): a frame that comes early waits, and is replaced by any
// newer one meanwhile. It stops writing once the reader has sent a close
// frame (closing), and leaves the reader to finish.
func (s *Server) writeIndex(ws *fws.Conn, sub *indexSub, readerDone, closing <-chan struct{}) {
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	hold := time.NewTimer(0)
	defer hold.Stop()
	frames := sub.frames // nil while holding
	var next time.Time   // no frame before this
	var pending []byte   // a frame taken while holding
	stop := func() {     // ends the reader, unless it is ending already
		select {
		case <-closing:
		default:
			_ = ws.SetReadDeadline(time.Now())
		}
		<-readerDone
	}
	for {
		select {
		case <-readerDone:
			return
		case <-closing:
			<-readerDone
			return
		case <-sub.quit:
			_ = ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(closeGoingAway, "server shutting down"), time.Now().Add(s.cfg.WriteWait))
			_ = ws.SetReadDeadline(time.Now().Add(time.Second))
			<-readerDone
			return
		case <-ping.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WriteWait)); err != nil {
				stop()
				return
			}
			continue
		case <-hold.C:
			frames = sub.frames
			if pending == nil {
				continue
			}
		case pending = <-frames:
			if wait := time.Until(next); wait > 0 {
				frames = nil
				hold.Reset(wait)
				continue
			}
		}
		select { // a newer frame may have come meanwhile
		case pending = <-sub.frames:
		default:
		}
		_ = ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteWait))
		if err := ws.WriteMessage(websocket.TextMessage, pending); err != nil {
			stop()
			return
		}
		pending, next = nil, time.Now().Add(s.cfg.CountsInterval)
	}
}

// listed is the set of published posts' slugs.
func (s *Server) listed() map[string]bool {
	list, _ := s.posts.List() // a post that fails to parse (live mode) is not listed
	m := make(map[string]bool, len(list))
	for _, p := range list {
		m[p.Slug] = true
	}
	return m
}
