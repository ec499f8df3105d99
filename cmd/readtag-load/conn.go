package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one simulated reader: one goroutine reads (and answers pings, which
// gorilla does inside the read), another scrolls if the plan says so. It is
// leaner than web/client: no frame log, no view of positions, just the
// counts and a fingerprint of who it sees.
type conn struct {
	e     *engine
	g     int
	slug  string
	ws    *websocket.Conn
	shard *shard
	done  chan struct{} // closed when the read loop ends

	dialStart time.Time
	upgraded  time.Time   // the 101 arrived
	closing   atomic.Bool // the tool is closing it: its end is no failure

	buf  []byte // frame buffer, reused
	f    frame  // parse result, reused
	self []byte // own id, for the parser

	mu     sync.Mutex // guards what views() reads
	id     string
	viewN  int
	viewX  uint64
	crowd  bool // a crowd frame came: the view is a subset of the room
	total  int  // the room's size in the last crowd frame
	ending bool
}

// run is the read loop.
func (c *conn) run() {
	defer close(c.done)
	ws := c.ws
	ws.SetReadLimit(maxFrame)
	// gorilla's own pong has a 1 s deadline, which a starved machine
	// misses (and the tool then loses the reader); the server waits 12 s.
	ws.SetPingHandler(func(data string) error {
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(10*time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	_ = ws.SetReadDeadline(time.Now().Add(welcomeTimeout))
	var err error
	for {
		var r io.Reader
		if _, r, err = ws.NextReader(); err != nil {
			break
		}
		if c.buf, err = readInto(c.buf[:0], r); err != nil {
			break
		}
		c.handle(c.buf)
		// A big welcome should not stay allocated for the life of an idle
		// connection.
		if cap(c.buf) > 64<<10 {
			c.buf = nil
		}
	}
	c.ended(err)
}

func readInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// ended records why the read loop stopped and releases the socket.
func (c *conn) ended(err error) {
	e := c.e
	c.mu.Lock()
	c.ending = true
	welcomed := c.id != ""
	c.mu.Unlock()
	if welcomed {
		e.open.Add(-1)
	}
	switch {
	case c.closing.Load():
		e.closed.Add(1)
	default:
		if welcomed {
			e.lost.Add(1)
		} else {
			e.failed.Add(1)
		}
		e.count(&e.failures.Closes, closeReason(err, welcomed))
	}
	_ = c.ws.Close()
}

func closeReason(err error, welcomed bool) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		if ce.Code == websocket.CloseAbnormalClosure {
			return "dropped without a close frame"
		}
		return fmt.Sprintf("close %d: %s", ce.Code, ce.Text)
	case !welcomed && isTimeout(err):
		return fmt.Sprintf("no welcome within %v", welcomeTimeout)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "dropped (EOF)"
	case errors.Is(err, websocket.ErrReadLimit):
		return "frame over the tool's read limit"
	}
	return "read: " + err.Error()
}

// handle counts one frame and updates the reader's view.
func (c *conn) handle(data []byte) {
	now := time.Now()
	f := &c.f
	perr := parseFrame(data, c.self, f)
	var errText string
	first := false // the first welcome: the join is complete
	if perr == nil {
		switch string(f.typ) {
		case "welcome":
			first = c.welcome(f)
		case "join":
			if f.readerID != nil {
				c.mu.Lock()
				c.viewN++
				c.viewX ^= idHash(f.readerID)
				c.mu.Unlock()
			}
		case "leave":
			if f.id != nil {
				c.mu.Lock()
				c.viewN--
				c.viewX ^= idHash(f.id)
				c.mu.Unlock()
			}
		case "crowd":
			// Leave, then join, as the server applies them.
			c.mu.Lock()
			c.viewN += f.joinN - f.leaveN
			c.viewX ^= f.leaveX ^ f.joinX
			c.crowd = true
			if f.hasTot {
				c.total = f.total
			}
			c.mu.Unlock()
		case "error":
			errText = f.errorText()
		}
	}
	nowMs := now.UnixMilli()
	sh := c.shard
	measuring := c.e.measuring.Load()
	sh.mu.Lock()
	c.record(&sh.st.Total, data, perr, nowMs)
	if measuring {
		c.record(&sh.st.Window, data, perr, nowMs)
	}
	if first {
		sh.st.JoinTime.Record(now.Sub(c.dialStart).Microseconds())
		sh.st.WelcomeTime.Record(now.Sub(c.upgraded).Microseconds())
	}
	sh.mu.Unlock()
	if errText != "" {
		c.e.count(&c.e.failures.ErrorTexts, errText)
	}
	// Drop the latency buffer after an unusually large frame.
	if cap(f.sent) > 4096 {
		f.sent = nil
	}
}

func (c *conn) record(fl *Flow, data []byte, perr error, nowMs int64) {
	fl.FramesRecv++
	fl.BytesRecv += int64(len(data))
	if perr != nil {
		fl.Invalid++
		return
	}
	f := &c.f
	switch string(f.typ) {
	case "welcome":
		fl.Welcomes++
	case "join":
		fl.Joins++
	case "leave":
		fl.Leaves++
	case "moves", "crowd":
		if f.typ[0] == 'm' {
			fl.Moves++
		} else {
			fl.Crowds++
			fl.MaxCrowdBytes = max(fl.MaxCrowdBytes, int64(len(data)))
		}
		fl.Updates += int64(f.moves)
		fl.OwnMoves += int64(f.own)
		for i, ms := range f.sent {
			l := latencyMillis(nowMs, int(ms))
			fl.Latency.Record(l)
			if f.nodeOf != nil {
				switch n := f.from[i]; {
				case n < 0:
				case int(n) == c.g%len(c.e.plan.Targets):
					fl.LatencySame.Record(l)
				default:
					fl.LatencyCross.Record(l)
				}
			}
		}
	case "error":
		fl.Errors++
	default:
		fl.Unknown++
	}
}

// welcome takes the view from a welcome frame and reports whether it was
// the first. A later one (the server rebuilding every view, as readtag does
// when a post enters crowd mode) only replaces the view.
func (c *conn) welcome(f *frame) bool {
	c.mu.Lock()
	first := c.id == ""
	c.id = string(f.youID)
	c.viewN, c.viewX = f.readers, f.readersX
	c.mu.Unlock()
	c.self = []byte(c.id)
	if !first {
		return false
	}
	if e := c.e; e.nodeOf != nil {
		e.nodeMu.Lock()
		e.nodeOf[c.id] = int8(c.g % len(e.plan.Targets))
		e.nodeMu.Unlock()
	}
	if !c.closing.Load() {
		_ = c.ws.SetReadDeadline(time.Time{})
	}
	e := c.e
	e.welcomed.Add(1)
	e.open.Add(1)
	if len(e.scrollers) > 0 {
		e.scrollers[e.scrollN.Add(1)%int64(len(e.scrollers))].add(c)
	}
	if e.plan.Life > 0 {
		t := time.AfterFunc(e.plan.Life, c.leave)
		go func() {
			<-c.done
			t.Stop()
		}()
	}
	return true
}

// leave closes the connection as a browser closing the tab would: a close
// frame, then the socket once the server answers (or a deadline passes).
func (c *conn) leave() {
	if c.closing.Swap(true) {
		return
	}
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(closeTimeout))
	_ = c.ws.SetReadDeadline(time.Now().Add(closeTimeout))
}
