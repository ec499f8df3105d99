package wsclient

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// conn is one simulated reader. Its frames are read by the engine's epoll
// loop (or a goroutine of its own, see sock), which answers pings; a
// scroller writes its scrolls. It is leaner than web/client: no frame log,
// no view of positions, just the counts and a fingerprint of who it sees.
type conn struct {
	e     *Engine
	g     int
	slug  string // the room: a post's slug or an embedded page's URL
	shard *shard
	done  chan struct{} // closed when the connection has ended

	sock     sock        // set before the first frame is read
	dec      decoder     // read side only
	finished atomic.Bool // finish ran

	dialStart time.Time
	upgraded  time.Time   // the 101 arrived
	closing   atomic.Bool // the tool is closing it: its end is no failure
	closeSent atomic.Bool // a close frame went out
	timedOut  atomic.Bool // no welcome in time: the tool cut it

	timerMu sync.Mutex
	timer   *time.Timer // the welcome deadline, then the close's
	life    *time.Timer // plan.Life

	f    protocol.Frame // parse result, reused
	self []byte         // own id, for the parser

	mu     sync.Mutex // guards what views() reads
	id     string
	viewN  int
	viewX  uint64
	crowd  bool // a crowd frame came: the view is a subset of the room
	total  int  // the room's size in the last crowd frame
	ending bool
}

// attach takes the upgraded socket: onto one of the engine's pollers where
// it can, else read by a goroutine once start runs.
func (c *conn) attach(nc net.Conn) {
	c.dec.limit = maxFrame
	if s := c.e.takeSock(c, nc); s != nil {
		c.sock = s
	} else {
		c.sock = &netSock{nc: nc}
	}
}

// start reads the attached connection: rest is what the server sent right
// after its 101. The engine's wg counts the connection until finish.
func (c *conn) start(rest []byte) {
	c.setTimer(c.e.welcomeTimeout, func() {
		c.timedOut.Store(true)
		c.sock.cut()
	})
	if len(rest) > 0 {
		if err := c.feed(rest); err != nil {
			c.finish(err)
			return
		}
	}
	switch s := c.sock.(type) {
	case *netSock:
		go c.readNet(s.nc)
	case *fdSock:
		if !s.watch(c) {
			c.finish(errDropped)
		}
	}
}

// setTimer replaces the connection's deadline.
func (c *conn) setTimer(d time.Duration, f func()) {
	c.timerMu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(d, f)
	c.timerMu.Unlock()
}

func (c *conn) stopTimers() {
	c.timerMu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.life != nil {
		c.life.Stop()
	}
	c.timerMu.Unlock()
}

// feed takes bytes read from the socket.
func (c *conn) feed(data []byte) error {
	return c.dec.decode(data, c.frame)
}

// frame handles one message or control frame.
func (c *conn) frame(op byte, p []byte) error {
	switch op {
	case opText, opBinary:
		c.handle(p)
	case opPing:
		// Never wait on a full socket here (the poller serves others):
		// a server that stopped reading for that long is past caring.
		_ = c.sock.write(appendFrame(make([]byte, 0, 6+len(p)), opPong, p), false)
	case opClose:
		ce, err := parseClose(p)
		if err != nil {
			return err
		}
		if !c.closeSent.Swap(true) {
			var echo []byte
			if ce.code != closeNoStatus {
				echo = closePayload(ce.code, "")
			}
			_ = c.sock.write(appendFrame(nil, opClose, echo), false)
		}
		return ce
	}
	return nil
}

// finish ends the connection (once): it records why and frees the socket.
func (c *conn) finish(err error) {
	if c.finished.Swap(true) {
		return
	}
	c.stopTimers()
	c.sock.release()
	if c.timedOut.Load() && !c.closing.Load() {
		err = &timeoutError{"no welcome"}
	}
	close(c.done)
	c.ended(err)
	c.e.untrack(c)
	c.e.wg.Done()
}

// ended records why the connection stopped.
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
		e.count(&e.failures.Closes, closeReason(err, welcomed, e.welcomeTimeout))
	}
}

func closeReason(err error, welcomed bool, welcomeTimeout time.Duration) string {
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("close %d: %s", ce.code, ce.text)
	case !welcomed && isTimeout(err):
		return fmt.Sprintf("no welcome within %v", welcomeTimeout)
	case errors.Is(err, errDropped):
		return "dropped without a close frame"
	case errors.Is(err, errReadLimit):
		return errReadLimit.Error()
	}
	return "read: " + err.Error()
}

// handle counts one frame and updates the reader's view.
func (c *conn) handle(data []byte) {
	now := time.Now()
	f := &c.f
	perr := protocol.ParseFrame(data, c.self, f)
	var errText string
	first := false // the first welcome: the join is complete
	if perr == nil {
		switch string(f.Type) {
		case "welcome":
			first = c.welcome(f)
		case "join":
			if f.Reader != nil {
				c.mu.Lock()
				c.viewN++
				c.viewX ^= protocol.IDHash(f.Reader)
				c.mu.Unlock()
			}
		case "leave":
			if f.ID != nil {
				c.mu.Lock()
				c.viewN--
				c.viewX ^= protocol.IDHash(f.ID)
				c.mu.Unlock()
			}
		case "crowd":
			// Leave, then join, as the server applies them.
			c.mu.Lock()
			c.viewN += f.JoinN - f.LeaveN
			c.viewX ^= f.LeaveX ^ f.JoinX
			c.crowd = true
			if f.HasTotal {
				c.total = f.Total
			}
			c.mu.Unlock()
		case "error":
			errText = f.ErrorText()
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
	if cap(f.Sent) > 4096 {
		f.Sent = nil
	}
}

func (c *conn) record(fl *stats.Flow, data []byte, perr error, nowMs int64) {
	fl.FramesRecv++
	fl.BytesRecv += int64(len(data))
	if perr != nil {
		fl.Invalid++
		return
	}
	f := &c.f
	switch string(f.Type) {
	case "welcome":
		fl.Welcomes++
	case "join":
		fl.Joins++
	case "leave":
		fl.Leaves++
	case "moves", "crowd":
		if f.Type[0] == 'm' {
			fl.Moves++
		} else {
			fl.Crowds++
			fl.MaxCrowdBytes = max(fl.MaxCrowdBytes, int64(len(data)))
		}
		fl.Updates += int64(f.Moves)
		fl.OwnMoves += int64(f.Own)
		for i, ms := range f.Sent {
			l := protocol.LatencyMillis(nowMs, int(ms))
			fl.Latency.Record(l)
			if f.NodeOf != nil {
				switch n := f.From[i]; {
				case n < 0:
				case int(n) == c.e.plan.targetIndex(c.g):
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
func (c *conn) welcome(f *protocol.Frame) bool {
	c.mu.Lock()
	first := c.id == ""
	c.id = string(f.You)
	c.viewN, c.viewX = f.Readers, f.ReadersX
	c.mu.Unlock()
	c.self = []byte(c.id)
	if !first {
		return false
	}
	if e := c.e; e.nodeOf != nil {
		e.nodeMu.Lock()
		e.nodeOf[c.id] = int8(e.plan.targetIndex(c.g))
		e.nodeMu.Unlock()
	}
	if !c.closing.Load() {
		c.timerMu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.timerMu.Unlock()
	}
	e := c.e
	e.welcomed.Add(1)
	e.open.Add(1)
	if len(e.scrollers) > 0 {
		e.scrollers[e.scrollN.Add(1)%int64(len(e.scrollers))].add(c)
	}
	if e.plan.Life > 0 {
		c.timerMu.Lock()
		c.life = time.AfterFunc(e.plan.Life, c.leave)
		c.timerMu.Unlock()
	}
	return true
}

// leave closes the connection as a browser closing the tab would: a close
// frame, then the socket once the server answers (or a deadline passes).
func (c *conn) leave() {
	if c.closing.Swap(true) {
		return
	}
	c.setTimer(closeTimeout, c.sock.cut)
	if !c.closeSent.Swap(true) {
		if c.sock.write(appendFrame(nil, opClose, closePayload(closeNormal, "bye")), true) != nil {
			c.sock.cut()
		}
	}
}
