package actors

import (
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// joinTimeout bounds how long a connection waits for its room's welcome; a
// join lost with a failed room must not leave a browser waiting forever.
const joinTimeout = 5 * time.Second

// welcome tells a connection that its room welcomed its reader (the room
// has queued the welcome frame itself): the reader actor that takes its
// scrolls, and for the trace who the reader is and how many others it was
// shown.
type welcome struct {
	you    readtag.Reader
	others int
	reader *actor.PID
}

func (m welcome) traceInfo() (string, string, []any) {
	return m.you.ID, "", []any{"color", m.you.Color, "name", m.you.Name, "others", m.others}
}

// joinExpired fires joinTimeout after a connection started.
type joinExpired struct{}

// conn is one WebSocket's actor: it joins the room, forwards the scrolls
// made before the welcome to the reader actor, and drops the socket when the
// join times out or the actor fails. The room writes the reader's frames to
// the socket's Client itself (it never blocks): a frame is then one call,
// not one actor message per reader per tick. When the socket closes the
// handler stops this actor and the monitor tells the room.
type conn struct {
	slug   string
	id     string
	want   readtag.Reader // a resumed reader's name and colour (join)
	client readtag.Client
	rooms  *actor.PID
	hidden bool

	reader  *actor.PID // nil until welcomed
	early   *scroll    // latest scroll that arrived before the welcome
	expires *time.Timer
	// publish, if set, is where the room publishes the reader's seat when
	// it welcomes the reader, for the session to put scrolls in directly.
	publish *atomic.Pointer[seat]
}

func newConn(slug string, who readtag.Reader, hidden bool, client readtag.Client, rooms *actor.PID, publish *atomic.Pointer[seat]) actor.Producer {
	return func() actor.Receiver {
		return &conn{slug: slug, id: who.ID, want: who, hidden: hidden, client: client, rooms: rooms, publish: publish}
	}
}

func (cn *conn) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		c.Send(cn.rooms, join{slug: cn.slug, readerID: cn.id, name: cn.want.Name, color: cn.want.Color, conn: c.PID(), client: cn.client, publish: cn.publish, hidden: cn.hidden})
		cn.expires = after(c.Engine(), c.PID(), joinTimeout, joinExpired{})
	case welcome:
		cn.expires.Stop()
		cn.reader = msg.reader
		// The room published the reader's seat before it queued the
		// welcome, so every scroll the client sends once welcomed goes
		// straight there. A scroll that came here first reaches the seat
		// after newer ones: its sequence number lets the seat drop it.
		if cn.early != nil {
			c.Send(cn.reader, *cn.early)
			cn.early = nil
		}
	case scroll:
		if cn.reader == nil {
			cn.early = &msg
			return
		}
		c.Send(cn.reader, msg)
	case joinExpired:
		if cn.reader == nil {
			cn.client.Drop("could not join the post's room in time; reconnecting")
		}
	case actor.Stopped:
		if cn.expires != nil {
			cn.expires.Stop()
		}
		// A no-op when the socket closed first (the usual way a conn stops);
		// otherwise this conn failed and its browser should reconnect.
		cn.client.Drop("connection actor stopped")
	}
}
