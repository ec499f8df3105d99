package servers

import (
	"bytes"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
)

// The relay (bare-server --relay-tick) is the floor of a hot post on
// readtag's stack: no actors, rooms, views or outboxes, only what any server
// of the hot scenario must do on Fiber and contrib/websocket. Every scroll
// is read and its position kept; every tick each reader is sent one crowd
// frame with the latest positions of the (up to) 24 readers after it in
// join order that moved since its last frame, so the tool measures
// scroll→ghost latency against it exactly as against readtag. Like
// readtag's crowd tick it serves the readers in turns spread over the tick
// (a turn every RelayTurn), and its frames are written by GOMAXPROCS worker
// goroutines, no goroutine per frame. A reader whose socket blocks holds
// up its worker's share of the turn: a floor, not a design to deploy.

// RelayTurn is how often the relay serves a slot of its readers: the
// shortest relay tick.
const RelayTurn = 10 * time.Millisecond

// relayShown is how many other readers each frame may carry, as readtag's
// crowd views (CrowdVisible).
const relayShown = 24

type relaySock struct {
	id    string
	ws    *websocket.Conn
	pos   atomic.Uint64 // math.Float64bits of the latest position
	moved atomic.Int64  // UnixNano of the latest scroll, 0: none yet

	mu     sync.Mutex // held while writing; closed is set under it before the handler returns
	closed bool
	served int64 // UnixNano of its last frame, or of its welcome (the broadcaster's only, once added)
}

type relay struct {
	tick  time.Duration
	mu    sync.Mutex
	socks []*relaySock
	quit  chan struct{}
	done  chan struct{}
}

func newRelay(tick time.Duration) *relay {
	r := &relay{tick: tick, quit: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// newRelaySock is a reader about to be welcomed: its first frame carries the
// moves made since then. (A first frame used to take those of the tick
// before it, and so lost for good a move made between the welcome and a
// first frame that a busy machine delayed past a tick.)
func newRelaySock(id string, ws *websocket.Conn) *relaySock {
	return &relaySock{id: id, ws: ws, served: time.Now().UnixNano()}
}

func (r *relay) add(s *relaySock) {
	r.mu.Lock()
	r.socks = append(r.socks, s)
	r.mu.Unlock()
}

// remove takes s out and waits for a write to it to end: after it, the
// relay never touches s.ws (contrib reuses the Conn once the handler
// returns).
func (r *relay) remove(s *relaySock) {
	r.mu.Lock()
	for i, o := range r.socks {
		if o == s {
			r.socks = append(r.socks[:i], r.socks[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (r *relay) stop() {
	close(r.quit)
	<-r.done
}

// scrolled keeps the position of a scroll frame ({"type":"scroll","position":P}).
func (s *relaySock) scrolled(frame []byte) {
	i := bytes.Index(frame, []byte(`"position":`))
	if i < 0 {
		return
	}
	rest := frame[i+len(`"position":`):]
	j := 0
	for j < len(rest) && (rest[j] == '.' || rest[j] == '-' || rest[j] == 'e' || rest[j] == 'E' || rest[j] == '+' || rest[j] >= '0' && rest[j] <= '9') {
		j++
	}
	p, err := strconv.ParseFloat(string(rest[:j]), 64)
	if err != nil || p < 0 || p > 1 {
		return
	}
	s.pos.Store(math.Float64bits(p))
	// Marked as moving before its time is read. A frame built meanwhile
	// either sees the mark and carries p, or read the old value before the
	// mark, and so before this time: the next frame carries p. Stamped
	// directly, a frame could read the old value, stamp itself later than
	// this scroll and skip p for good (TestBareRelay saw it on a busy machine).
	s.moved.Store(math.MaxInt64)
	s.moved.Store(time.Now().UnixNano())
}

// run takes a turn every RelayTurn: the readers whose place in join order
// falls in the turn get their frames, written by one worker per CPU.
func (r *relay) run() {
	defer close(r.done)
	turns := max(1, int(r.tick/RelayTurn))
	t := time.NewTicker(r.tick / time.Duration(turns))
	defer t.Stop()
	workers := runtime.GOMAXPROCS(0)
	bufs := make([][]byte, workers)
	var socks []*relaySock
	for turn := 0; ; turn = (turn + 1) % turns {
		select {
		case <-r.quit:
			return
		case <-t.C:
		}
		r.mu.Lock()
		socks = append(socks[:0], r.socks...)
		r.mu.Unlock()
		n := len(socks)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := turn + w*turns; i < n; i += workers * turns {
					bufs[w] = r.serve(bufs[w][:0], socks, i)
				}
			}()
		}
		wg.Wait()
	}
}

// serve writes socks[i] its frame: the readers after it that moved since
// its last one.
func (r *relay) serve(b []byte, socks []*relaySock, i int) []byte {
	s := socks[i]
	now := time.Now().UnixNano()
	since := s.served
	b = append(b, `{"type":"crowd","total":`...)
	b = strconv.AppendInt(b, int64(len(socks)), 10)
	b = append(b, `,"bands":[],"leave":[],"join":[],"moves":[`...)
	k := 0
	for d := 1; d <= relayShown && d < len(socks); d++ {
		o := socks[(i+d)%len(socks)]
		if o.moved.Load() <= since {
			continue
		}
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"`...)
		b = append(b, o.id...)
		b = append(b, `","position":`...)
		b = strconv.AppendFloat(b, math.Float64frombits(o.pos.Load()), 'f', -1, 64)
		b = append(b, '}')
		k++
	}
	b = append(b, "]}"...)
	s.served = now
	if k == 0 {
		return b
	}
	s.mu.Lock()
	if !s.closed {
		_ = s.ws.SetWriteDeadline(time.Now().Add(bareWriteWait))
		if s.ws.WriteMessage(websocket.TextMessage, b) != nil {
			_ = s.ws.NetConn().Close() // its handler's read ends
		}
	}
	s.mu.Unlock()
	return b
}
