package actors

import (
	"github.com/anthdm/hollywood/actor"
)

// scroll carries a reader's new position, from the WebSocket handler through
// the connection actor to the reader actor.
type scroll struct {
	position float64
}

func (m scroll) traceInfo() (string, string, []any) { return "", "", []any{"position", m.position} }

// reader is one connected reader, supervised by its post's room. It owns the
// reader's position and reports changes to the room.
type reader struct {
	id       string
	room     *actor.PID
	position float64
}

func newReader(id string, room *actor.PID) actor.Producer {
	return func() actor.Receiver { return &reader{id: id, room: room} }
}

func (r *reader) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case scroll:
		if msg.position == r.position {
			return
		}
		r.position = msg.position
		c.Send(r.room, moved{id: r.id, position: msg.position})
	}
}
