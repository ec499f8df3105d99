package actors

import (
	"sync"

	"github.com/anthdm/hollywood/actor"
)

// scroll carries a reader's new position to its reader actor: from the
// connection actor for the scrolls made before the welcome, and from the
// session for every scroll while the reader's scrolls are traced (see
// seat.traced).
type scroll struct {
	position float64
	// seq numbers a session's scrolls from 1: a scroll made before the
	// welcome goes through the conn and can reach the seat after a newer
	// one that went straight there. 0: unnumbered.
	seq uint64
}

func (m scroll) traceInfo() (string, string, []any) {
	return "", "", []any{"position", m.position, "seq", m.seq}
}

// reader is one connected reader, supervised by its post's room: its
// lifecycle (the monitor watches it; if it fails, the room drops its
// socket) and its seat, where the scrolls that reach it as messages land.
type reader struct {
	seat *seat
}

func newReader(st *seat) actor.Producer {
	return func() actor.Receiver { return &reader{seat: st} }
}

func (r *reader) Receive(c *actor.Context) {
	if msg, ok := c.Message().(scroll); ok {
		r.seat.scroll(msg.position, msg.seq)
	}
}

// seat is where a welcomed reader's position lands. A 5,000-reader hot
// post at 5 Hz makes 25,000 scrolls a second; as actor messages each woke
// the reader actor (a goroutine) and sent the room another message, about
// a tenth of the server's CPU (docs/performance.md, issue 24). Now the
// WebSocket handler writes the position here itself (session.Scroll), and
// the room collects the seats that changed (movebox): one message to the
// room when its box was empty, however many scrolls land before it looks.
// Scrolls made before the welcome, and every scroll while tracing shows
// the reader actors' or rooms' messages (traced), still reach the seat
// through the reader actor, so an operator following a reader sees each.
type seat struct {
	id  string
	pid *actor.PID // the reader actor
	box *movebox

	mu  sync.Mutex
	pos float64
	seq uint64 // the newest scroll's number (scroll.seq)
	due bool   // in box (or about to be), not yet collected

	traced bool // scrolls go to the reader actor as messages (see Session.Scroll)
	// (the fields are in this order to fit 64 bytes: one per reader)
}

// scroll keeps a new position unless a newer scroll overtook it, and puts
// the seat in its room's box if it is not there yet.
func (st *seat) scroll(position float64, seq uint64) {
	st.mu.Lock()
	if seq != 0 && seq < st.seq {
		st.mu.Unlock()
		return
	}
	st.seq = max(st.seq, seq)
	st.pos = position
	due := st.due
	st.due = true
	st.mu.Unlock()
	if !due {
		st.box.add(st)
	}
}

// take is the room's read of the seat: the latest position, after which
// the next scroll puts the seat in the box again.
func (st *seat) take() float64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.due = false
	return st.pos
}

// movesDue tells a room that its movebox has seats to collect.
type movesDue struct{ box *movebox }

// traceInfo names the readers whose seats the box holds as the room takes
// the message (the first 8), so that a grep for a reader follows its
// scroll from the reader actor into the room; with one, its position too.
func (m movesDue) traceInfo() (reader, post string, summary []any) {
	m.box.mu.Lock()
	defer m.box.mu.Unlock()
	ids := make([]string, 0, min(len(m.box.seats), 8))
	for _, st := range m.box.seats[:min(len(m.box.seats), 8)] {
		ids = append(ids, st.id)
	}
	if len(m.box.seats) == 1 {
		st := m.box.seats[0]
		st.mu.Lock()
		summary = []any{"position", st.pos}
		st.mu.Unlock()
		reader = st.id
	}
	return reader, "", append(summary, "count", len(m.box.seats), "readers", ids)
}

// movebox is a room's list of the seats that changed since it last looked.
// A seat is in it at most once (seat.due), so it never holds more than the
// room's readers.
type movebox struct {
	engine *actor.Engine
	room   *actor.PID
	mu     sync.Mutex
	seats  []*seat
}

// add lists a seat, and wakes the room if the box was empty.
func (b *movebox) add(st *seat) {
	b.mu.Lock()
	wake := len(b.seats) == 0
	b.seats = append(b.seats, st)
	b.mu.Unlock()
	if wake {
		b.engine.Send(b.room, movesDue{box: b})
	}
}

// take hands the room the listed seats and starts a new list in spare's
// array.
func (b *movebox) take(spare []*seat) []*seat {
	b.mu.Lock()
	defer b.mu.Unlock()
	seats := b.seats
	b.seats = spare[:0]
	return seats
}
