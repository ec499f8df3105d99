package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
	fws "github.com/gofiber/contrib/websocket"

	"github.com/readtag/readtag"
)

// serveWS takes one reader's WebSocket from contrib/websocket and runs it
// on a goroutine of its own, returning at once: fasthttp then releases the
// upgrade request's context and buffers, and contrib its header maps, which
// an idle reader would otherwise hold for its whole life (the server keeps
// hijacked connections open: runWS closes them). Nothing may touch c after
// return (contrib hands the wrapper to the next client), so only the
// underlying *websocket.Conn and copies of the strings go on.
func (s *Server) serveWS(c *fws.Conn) {
	slug, _ := c.Locals(localRoom).(string) // /ws/embed: the page's room key
	if slug == "" {
		slug = c.Params("slug")
	}
	var who readtag.Reader
	who.ID, _ = c.Locals(localReader).(string)
	who.Name, _ = c.Locals(localName).(string)
	who.Color, _ = c.Locals(localColor).(string)
	hidden, _ := c.Locals(localHidden).(bool)
	ws := c.Conn
	if !detachable(ws) {
		s.runWS(ws, slug, who, hidden)
		return
	}
	go s.runWS(ws, slug, who, hidden)
}

// detachable reports whether ws can outlive the upgrade handler: fasthttp
// hands the hijacked connection its request reader when the client sent
// bytes after the upgrade request before the 101 (the reader is buffered),
// and releases that reader when the handler returns. With
// ReduceMemoryUsage it otherwise hands the bare connection.
func detachable(ws *websocket.Conn) bool {
	v := reflect.ValueOf(ws.NetConn())
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct ||
		v.Elem().Type().PkgPath() != "github.com/valyala/fasthttp" {
		return false
	}
	r := v.Elem().FieldByName("r")
	if !r.IsValid() || r.Kind() != reflect.Interface || r.IsNil() {
		return false
	}
	return r.Elem().Type().Implements(reflect.TypeFor[net.Conn]())
}

// runWS runs one reader's WebSocket: this goroutine reads, a writer that
// the outbox starts when it has work writes (concurrent writes would
// panic), and the connection is closed on return.
func (s *Server) runWS(ws *websocket.Conn, slug string, who readtag.Reader, hidden bool) {
	defer ws.Close()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("websocket handler panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	log := s.log // per-connection attributes only when they will be used
	if s.debug {
		log = s.log.With("reader", who.ID, "post", slug)
	}

	ob := &outbox{cfg: &s.outboxes, room: slug}
	ob.write = func() {
		s.writersWaiting.Add(-1) // running now (see WritersWaiting)
		s.write(ws, ob, log)
	}
	if !s.track(ob) {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(closeGoingAway, "server shutting down"), time.Now().Add(time.Second))
		return
	}
	defer s.untrack(ob)
	log.Debug("websocket open")

	sess := s.presence.Join(slug, who, hidden, ob)
	reason := s.read(ws, ob, sess, log)
	s.metrics.leaves.WithLabelValues(leaveBy(reason)).Inc()
	sess.Leave()
	ob.stop()
	log.Debug("websocket closed", "why", reason)
}

// read is the reader's incoming side: frames are checked and turned into
// scrolls; bad ones get an error frame and the connection stays open.
func (s *Server) read(ws *websocket.Conn, ob *outbox, sess interface{ Scroll(float64) }, log *slog.Logger) string {
	ws.SetReadLimit(int64(s.cfg.MaxFrameBytes))
	// extend moves the read deadline to PongWait from now, but only once it
	// has fallen an eighth of PongWait behind: setting a deadline resets a
	// runtime timer, and doing so for every scroll was 1.4 % of the CPU of a
	// 5,000-reader hot post (docs/performance.md, issue 24).
	var deadline time.Time
	extend := func() {
		if d := time.Now().Add(s.cfg.PongWait); d.Sub(deadline) >= s.cfg.PongWait/8 {
			deadline = d
			_ = ws.SetReadDeadline(d)
		}
	}
	extend()
	// ending is set when the server closes the connection for cause. What
	// the client still sends is read and dropped until it answers the close
	// (or for a second): closing TCP on unread data would reset it, and the
	// client would lose the close frame that says why.
	var ending string
	var budget *frameBudget
	end := func(code int, reason, why string) {
		budget.stop()
		ob.close(code, reason)
		ending = why
		_ = ws.SetReadDeadline(time.Now().Add(time.Second))
	}
	budget = s.limitFrames(ws, func() {
		if !ob.closed() {
			extend()
		}
	}, func(reason string) { end(closePolicy, reason, "rate limit") })
	// A frame is read into a pooled buffer held only while it is handled
	// (an idle reader, blocked in NextReader, holds none); ws.ReadMessage
	// would allocate one a frame (io.ReadAll).
	var bp *[]byte
	defer func() { putFrameBuf(bp) }()
	for {
		putFrameBuf(bp)
		bp = nil
		mt, r, err := ws.NextReader()
		var data []byte
		if err == nil {
			bp = frameBufs.Get().(*[]byte)
			data, err = readFrame(r, (*bp)[:0])
			*bp = data
		}
		if ending != "" {
			if err != nil {
				return ending
			}
			continue
		}
		if err != nil {
			if failed := ob.failure(); failed != nil {
				return "write failed: " + failed.Error()
			}
			return readError(err)
		}
		if ob.closed() {
			return "closed by server"
		}
		extend()
		s.metrics.framesIn.Inc()
		s.metrics.bytesIn.Add(float64(len(data)))
		if s.debug {
			log.Debug("websocket frame in", "bytes", len(data), "frame", truncate(data, 200))
		}
		if !budget.take() {
			continue
		}
		if mt == websocket.TextMessage && !utf8.Valid(data) {
			end(closeInvalidData, "invalid UTF-8 in a text frame", "invalid utf-8")
			continue
		}
		if mt != websocket.TextMessage {
			s.metrics.badFrames.Inc()
			ob.sendError("binary frames are not supported: send JSON text frames")
			continue
		}
		pos, err := decodeScroll(data)
		if err != nil {
			s.metrics.badFrames.Inc()
			ob.sendError(err.Error())
			continue
		}
		sess.Scroll(pos)
	}
}

// frameBufs holds the read loop's frame buffers (see read).
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledFrame is the largest frame buffer given back to frameBufs: a
// bigger one (MaxFrameBytes allows up to its value) goes to the GC.
const maxPooledFrame = 4096

func putFrameBuf(bp *[]byte) {
	if bp != nil && cap(*bp) <= maxPooledFrame {
		*bp = (*bp)[:0]
		frameBufs.Put(bp)
	}
}

// readFrame is io.ReadAll into b (from b[:0]'s end): the whole frame, or
// what was read before the error (ErrReadLimit for a frame over the limit).
func readFrame(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
	}
}

// leaveReasons are the values of the leaves metric's "by" label.
var leaveReasons = []string{"client", "server", "timeout", "slow", "error"}

// leaveBy sorts read's reasons for the leaves metric (one of leaveReasons).
func leaveBy(reason string) string {
	switch {
	case strings.HasPrefix(reason, "client closed"):
		return "client"
	case reason == "closed by server" || reason == "rate limit" || reason == "frame too large" || reason == "invalid utf-8":
		return "server"
	case reason == "no pong in time":
		return "timeout"
	case strings.HasPrefix(reason, "write failed"):
		return "slow"
	}
	return "error"
}

func readError(err error) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return "client closed: " + ce.Error()
	case errors.Is(err, websocket.ErrReadLimit):
		return "frame too large"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout"):
		return "no pong in time"
	}
	return err.Error()
}

// encodeBufs holds frame encode buffers between writer runs: a writer runs
// only while its outbox has work, so idle readers keep none.
var encodeBufs = sync.Pool{New: func() any { return new([]byte) }}

// write is the connection's only writer (see outbox): it drains the outbox,
// sends the pings the pinger asks for, and the close frame the server asked
// for, then exits until there is work again.
func (s *Server) write(ws *websocket.Conn, ob *outbox, log *slog.Logger) {
	bp := encodeBufs.Get().(*[]byte)
	defer encodeBufs.Put(bp)
	for {
		w, ok := ob.next()
		if !ok {
			return
		}
		// Several frames (or a ping and frames) go to the kernel in one
		// write: a writer that woke to a burst, as in a join storm, costs
		// one syscall, not one per frame.
		var tc *trackedConn
		if len(w.batch) > 1 || (w.ping && len(w.batch) > 0) {
			if tc = corkable(ws.NetConn()); tc != nil {
				tc.cork()
			}
		}
		if w.ping {
			// WriteMessage, not WriteControl: that allocates a frame buffer
			// for every ping (3,000 a second for 15,000 idle readers); this
			// writes from the connection's own, under the same lock.
			_ = ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteWait))
			if err := ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				if tc != nil {
					_ = tc.uncork(time.Now())
				}
				s.abort(ws, ob, err)
				return
			}
		}
		you := ob.self()
		for i := range w.batch {
			var ok bool
			*bp, ok = encode((*bp)[:0], &w.batch[i], you)
			if !ok {
				continue
			}
			buf := *bp
			_ = ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteWait))
			if err := ws.WriteMessage(websocket.TextMessage, buf); err != nil {
				log.Debug("websocket write failed", "err", err)
				if tc != nil {
					_ = tc.uncork(time.Now())
				}
				s.abort(ws, ob, err)
				return
			}
			s.metrics.outByKind[w.batch[i].kind].Inc()
			s.metrics.bytesOut.Add(float64(len(buf)))
			s.metrics.outboxDelay.Observe(time.Since(w.batch[i].at).Seconds())
			if s.debug {
				log.Debug("websocket frame out", "type", w.batch[i].kind.String(), "bytes", len(buf))
			}
		}
		if tc != nil {
			if err := tc.uncork(time.Now().Add(s.cfg.WriteWait)); err != nil {
				log.Debug("websocket write failed", "err", err)
				s.abort(ws, ob, err)
				return
			}
		}
		ob.done(w.batch)
		if w.closing {
			if code, reason := w.code, w.reason; code != 0 {
				if len(reason) > 123 { // the close frame's limit
					reason = reason[:123]
				}
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
					time.Now().Add(s.cfg.WriteWait))
				log.Debug("websocket close sent", "code", code, "reason", reason)
				// Give the client a moment to answer the close, then stop reading.
				_ = ws.SetReadDeadline(time.Now().Add(time.Second))
			}
			ob.finish()
			return
		}
	}
}

// abort ends a connection whose writes fail: the reader loop stops at once
// and reports why, and the writer ends.
func (s *Server) abort(ws *websocket.Conn, ob *outbox, err error) {
	ob.fail(err)
	_ = ws.SetReadDeadline(time.Now())
	ob.finish()
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
