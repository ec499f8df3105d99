package actors

import (
	"github.com/anthdm/hollywood/actor"
)

// scroll carries a reader's new position from the WebSocket handler to the
// reader actor: through the connection actor until the welcome, then
// straight (see session.Scroll).
type scroll struct {
	position float64
	// seq numbers a session's scrolls from 1: the session sends them to the
	// conn until the conn publishes the reader actor, and then straight to
	// the reader, so an older one can arrive after a newer one. 0: unnumbered.
	seq uint64
}

func (m scroll) traceInfo() (string, string, []any) {
	return "", "", []any{"position", m.position, "seq", m.seq}
}

// reader is one connected reader, supervised by its post's room. It owns the
// reader's position and reports changes to the room.
type reader struct {
	id       string
	room     *actor.PID
	position float64
	seq      uint64 // the newest scroll's sequence number
}

func newReader(id string, room *actor.PID) actor.Producer {
	return func() actor.Receiver { return &reader{id: id, room: room} }
}

func (r *reader) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case scroll:
		if msg.seq != 0 && msg.seq < r.seq {
			return // overtaken by a newer scroll (see scroll.seq)
		}
		r.seq = max(r.seq, msg.seq)
		if msg.position == r.position {
			return
		}
		r.position = msg.position
		c.Send(r.room, moved{id: r.id, position: msg.position})
	}
}
