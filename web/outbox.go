package web

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/readtag/readtag"
)

// itemKind is the type of frame an outbox item becomes.
type itemKind uint8

const (
	kindWelcome itemKind = iota + 1
	kindJoin
	kindLeave
	kindMoves
	kindError
	kindCrowd
	kindResume
)

var kindNames = [...]string{kindWelcome: "welcome", kindJoin: "join", kindLeave: "leave", kindMoves: "moves", kindError: "error", kindCrowd: "crowd", kindResume: "resume"}

func (k itemKind) String() string { return kindNames[k] }

// item is one queued frame, encoded only when the writer gets to it.
type item struct {
	kind   itemKind
	reader readtag.Reader   // welcome (you), join
	others []readtag.Reader // welcome
	text   string           // leave (id), error (reason), welcome and resume (token)
	moves  []readtag.Move   // moves: shared with other clients unless owned
	owned  bool             // moves is this outbox's own copy (merged)
	crowd  readtag.Crowd    // crowd
	at     time.Time        // when it was queued (the oldest of merged ones)
}

// Close codes the server sends.
const (
	closeNormal        = 1000
	closeGoingAway     = 1001
	closeInvalidData   = 1007
	closePolicy        = 1008
	closeInternalError = 1011
	// closeTakenOver closes a socket whose reader came back on a newer one
	// (a resume token, see resume.go): the page drops its token and joins
	// afresh, so two tabs holding one token do not take turns for ever.
	closeTakenOver = 4409
)

// outbox is the readtag.Client of one WebSocket: a bounded queue that the
// engine fills without ever blocking and that one writer goroutine drains.
// The writer runs only while there is work: the first item (or ping, or
// close) queued to an idle outbox starts it, and it exits once the queue is
// empty, so an idle reader holds no goroutine for writing. Starting it
// under mu, only when none runs, keeps it to one writer per socket
// (concurrent WebSocket writes panic).
// Moves coalesce: while a moves frame is still queued, later moves merge
// into it (latest position wins), so a slow reader gets fewer, fuller frames
// instead of a backlog. A reader that still falls limit frames behind is
// closed, never allowed to hold memory or a room hostage.
type outbox struct {
	cfg   *outboxConfig // shared by every outbox of a server
	write func()        // the writer, run on a new goroutine; nil in unit tests
	room  string        // the post, for resume tokens

	mu      sync.Mutex
	bucket  int32 // the ping sweeper's bucket (see pinger)
	ping    bool  // a ping is due
	writing bool  // a writer is running, or ended is set: none may start
	ended   bool  // the writer is done for good (closed or failed)
	queue   []item
	spare   []item         // the previous batch's array, reused
	index   map[string]int // reader id → entry in the tail moves item, when owned
	end     *ending        // set once the outbox closes
	// who is the reader, from the welcome: its id is skipped in moves,
	// and resume tokens are issued for it.
	who      readtag.Reader
	resumeAt int64 // when the last token was issued (cfg.since)
}

// outboxConfig is what every outbox of a server shares: one pointer in each
// instead of five fields (every open reader holds an outbox, idle or not;
// issue 24 found it at 280 bytes, TestOutboxSize keeps it at 176).
type outboxConfig struct {
	limit   int
	metrics *metrics // nil in unit tests
	// waiting, if set, counts the writers started and not yet running
	// (Server.WritersWaiting): signal adds one, the writer takes it off.
	waiting *atomic.Int64
	// resume, if set, issues a resume token for reader you of room
	// (resume.go); a new one goes out with the first ping resumeEvery
	// after the last.
	resume      func(room string, you readtag.Reader) string
	resumeEvery time.Duration
	epoch       time.Time // the origin of since
}

// since is the monotonic time since the config was made.
func (c *outboxConfig) since() int64 { return int64(time.Since(c.epoch)) }

// ending is an outbox's state once it closes, out of line because few
// outboxes ever get there while they are held.
type ending struct {
	code   int // close frame to send after the queue; 0 sends none
	reason string
	failed error         // the write that failed, if one did
	exited chan struct{} // made by stop to wait for a running writer's end
}

func newOutbox(limit int, m *metrics) *outbox {
	return &outbox{cfg: &outboxConfig{limit: limit, metrics: m, epoch: time.Now()}}
}

func (o *outbox) Welcome(you readtag.Reader, others []readtag.Reader) {
	var token string
	if o.cfg.resume != nil {
		token = o.cfg.resume(o.room, you)
	}
	o.mu.Lock()
	o.who, o.resumeAt = you, o.cfg.since()
	o.pushLocked(item{kind: kindWelcome, reader: you, others: others, text: token})
	o.mu.Unlock()
}

func (o *outbox) Join(r readtag.Reader) { o.push(item{kind: kindJoin, reader: r}) }

func (o *outbox) Leave(id string) { o.push(item{kind: kindLeave, text: id}) }

func (o *outbox) Moves(moves []readtag.Move) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := len(o.queue); n > 0 && o.queue[n-1].kind == kindMoves && o.end == nil {
		o.merge(&o.queue[n-1], moves)
		o.count(func(m *metrics) { m.coalesced.Inc() })
		return
	}
	o.pushLocked(item{kind: kindMoves, moves: moves})
}

// Crowd queues a crowd update. One that only moves readers merges into a
// queued one that only moves readers (latest positions and bands win); one
// that changes who is visible is queued as is, in order.
func (o *outbox) Crowd(u readtag.Crowd) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := len(o.queue); n > 0 && o.end == nil && len(u.Join)+len(u.Leave) == 0 {
		if tail := &o.queue[n-1]; tail.kind == kindCrowd && len(tail.crowd.Join)+len(tail.crowd.Leave) == 0 {
			tail.crowd.Total, tail.crowd.Bands = u.Total, u.Bands
			tail.crowd.Moves = mergeMoves(tail.crowd.Moves, u.Moves)
			u.Recycle() // its moves are copied into the tail's
			o.count(func(m *metrics) { m.coalesced.Inc() })
			return
		}
	}
	o.pushLocked(item{kind: kindCrowd, crowd: u})
}

// mergeMoves folds later moves into earlier ones (both the outbox's own).
func mergeMoves(into, later []readtag.Move) []readtag.Move {
	for _, m := range later {
		i := 0
		for i < len(into) && into[i].ID != m.ID {
			i++
		}
		if i < len(into) {
			into[i].Position, into[i].Live = m.Position, m.Live
		} else {
			into = append(into, m)
		}
	}
	return into
}

func (o *outbox) Drop(reason string) {
	if reason == readtag.TakenOver {
		o.close(closeTakenOver, reason)
		return
	}
	o.close(closeInternalError, reason)
}

// sendError queues an error frame for the client.
func (o *outbox) sendError(reason string) { o.push(item{kind: kindError, text: reason}) }

func (o *outbox) push(it item) {
	o.mu.Lock()
	o.pushLocked(it)
	o.mu.Unlock()
}

func (o *outbox) pushLocked(it item) {
	if o.end != nil {
		return
	}
	if len(o.queue) >= o.cfg.limit {
		o.queue = o.queue[:0]
		o.closeLocked(closePolicy, "too slow: the connection fell too far behind")
		o.count(func(m *metrics) { m.slowClosed.Inc() })
		return
	}
	it.at = time.Now()
	if cap(o.queue) == 0 {
		o.queue = getQueue()
	}
	o.queue = append(o.queue, it)
	o.signal()
}

func (o *outbox) count(f func(*metrics)) {
	if o.cfg.metrics != nil {
		f(o.cfg.metrics)
	}
}

// merge folds moves into the queued moves item it.
func (o *outbox) merge(it *item, moves []readtag.Move) {
	if !it.owned {
		own := make([]readtag.Move, 0, len(it.moves)+len(moves))
		if o.index == nil {
			o.index = make(map[string]int)
		}
		clear(o.index)
		for _, m := range it.moves {
			o.index[m.ID] = len(own)
			own = append(own, m)
		}
		it.moves, it.owned = own, true
	}
	for _, m := range moves {
		if i, ok := o.index[m.ID]; ok {
			it.moves[i].Position, it.moves[i].Live = m.Position, m.Live
			continue
		}
		o.index[m.ID] = len(it.moves)
		it.moves = append(it.moves, m)
	}
}

// close asks the writer to send what is queued, then a close frame with code
// and reason. The first close wins.
func (o *outbox) close(code int, reason string) {
	o.mu.Lock()
	o.closeLocked(code, reason)
	o.mu.Unlock()
}

func (o *outbox) closeLocked(code int, reason string) {
	if o.end != nil {
		return
	}
	o.end = &ending{code: code, reason: reason}
	o.signal()
}

// stop ends the writer without a close frame: the peer has gone (or the
// WebSocket library already answered its close), so queued frames are moot.
// It returns once no writer runs or ever will: the socket is then free.
func (o *outbox) stop() {
	o.mu.Lock()
	if o.end == nil {
		o.queue = o.queue[:0]
		o.end = &ending{}
	}
	var wait chan struct{}
	if o.writing && !o.ended {
		if o.end.exited == nil {
			o.end.exited = make(chan struct{})
		}
		wait = o.end.exited // the writer sees the end and ends
	} else {
		o.writing, o.ended = true, true
	}
	o.mu.Unlock()
	if wait != nil {
		<-wait
	}
}

// fail records that a write failed (a stalled or vanished client); the
// writer, which calls it, then ends.
func (o *outbox) fail(err error) {
	o.mu.Lock()
	if o.end == nil {
		o.queue = o.queue[:0]
		o.end = &ending{}
	}
	o.end.failed = err
	o.mu.Unlock()
}

// finish marks the writer done for good; it is the writer's last call.
func (o *outbox) finish() {
	o.mu.Lock()
	o.ended = true
	if o.end != nil && o.end.exited != nil {
		close(o.end.exited)
	}
	o.mu.Unlock()
}

// pingDue asks the writer to send a ping (the shared pinger calls it).
// It also refreshes the resume token when it is due, so that a token
// the page holds is never much older than its socket's last ping.
func (o *outbox) pingDue() {
	o.mu.Lock()
	var who readtag.Reader
	if o.cfg.resume != nil && o.who.ID != "" && o.end == nil {
		if now := o.cfg.since(); time.Duration(now-o.resumeAt) >= o.cfg.resumeEvery {
			who, o.resumeAt = o.who, now
		}
	}
	if o.end == nil {
		o.ping = true
		o.signal()
	}
	o.mu.Unlock()
	if who.ID != "" {
		o.push(item{kind: kindResume, text: o.cfg.resume(o.room, who)})
	}
}

func (o *outbox) failure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.end == nil {
		return nil
	}
	return o.end.failed
}

func (o *outbox) closed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.end != nil
}

// signal starts the writer if none runs; o.mu is held.
func (o *outbox) signal() {
	if o.writing || o.write == nil {
		return
	}
	o.writing = true
	if o.cfg.waiting != nil {
		o.cfg.waiting.Add(1)
	}
	// A func value with no arguments: go allocates nothing for it (go
	// o.write(o) made a closure, 24 bytes for every frame of a hot post).
	go o.write()
}

// queuePool holds outbox queue arrays between writer runs: every run of a
// reader that gets a frame a tick (a hot post's crowd) needed a new one.
// Only arrays of pooledQueue items are pooled (a pointer to one converts
// from the slice without an allocation); one that grew (a reader that fell
// behind) goes to the GC.
var queuePool sync.Pool

const pooledQueue = 4

func getQueue() []item {
	if a, ok := queuePool.Get().(*[pooledQueue]item); ok {
		return a[:0]
	}
	return make([]item, 0, pooledQueue)
}

// putQueue pools q's array, cleared so that it pins nothing.
func putQueue(q []item) {
	if cap(q) == pooledQueue {
		a := (*[pooledQueue]item)(q[:pooledQueue])
		clear(a[:])
		queuePool.Put(a)
	}
}

// work is what the writer takes from the outbox in one go.
type work struct {
	ping    bool
	batch   []item
	closing bool // send a close frame with code (unless 0) after the batch, then end
	code    int
	reason  string
}

// next hands the writer what is queued; ok is false when there is nothing,
// and the writer must then exit (a later item starts a new one).
func (o *outbox) next() (w work, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) == 0 && o.end == nil && !o.ping {
		// Going idle: the arrays go too (an item is 264 bytes, and a
		// reader's joins grow them to several), so an idle reader holds
		// none. They go back to queuePool (queue is empty and spare was
		// cleared by done), where the next reader to wake takes one.
		o.writing = false
		putQueue(o.queue)
		putQueue(o.spare)
		o.queue, o.spare = nil, nil
		return w, false
	}
	w.ping, o.ping = o.ping && o.end == nil, false
	w.batch, o.queue = o.queue, o.spare[:0]
	o.spare = nil
	if o.end != nil {
		w.closing, w.code, w.reason = true, o.end.code, o.end.reason
	}
	return w, true
}

// take hands the writer everything queued, and whether to close after it.
// done returns the batch's array for reuse once it is written.
func (o *outbox) take() (batch []item, closing bool, code int, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	batch, o.queue = o.queue, o.spare[:0]
	o.spare = nil
	if o.end == nil {
		return batch, false, 0, ""
	}
	return batch, true, o.end.code, o.end.reason
}

// done takes back a written batch: its crowd updates' lists go back to
// their pool (readtag.Crowd.Recycle), its array is kept for the next one.
func (o *outbox) done(batch []item) {
	for i := range batch {
		if batch[i].kind == kindCrowd {
			batch[i].crowd.Recycle()
		}
	}
	clear(batch)
	o.mu.Lock()
	o.spare = batch[:0]
	o.mu.Unlock()
}

// you returns the reader's own id, known after the welcome.
func (o *outbox) self() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.who.ID
}

// encode appends the frame for it to b; ok is false for a moves item that
// held only the reader's own move.
func encode(b []byte, it *item, you string) ([]byte, bool) {
	switch it.kind {
	case kindWelcome:
		return appendWelcome(b, it.reader, it.others, it.text), true
	case kindResume:
		return appendResume(b, it.text), true
	case kindJoin:
		return appendJoin(b, it.reader), true
	case kindLeave:
		return appendLeave(b, it.text), true
	case kindMoves:
		return appendMoves(b, it.moves, you)
	case kindError:
		return appendError(b, it.text), true
	case kindCrowd:
		return appendCrowd(b, it.crowd), true
	}
	return b, false
}
