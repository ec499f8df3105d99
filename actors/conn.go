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

// welcome is the room's answer to a join: who the reader is, who else is
// there, and the reader actor that takes the reader's scrolls.
type welcome struct {
	you    readtag.Reader
	others []readtag.Reader
	reader *actor.PID
}

func (m welcome) traceInfo() (string, string, []any) {
	return m.you.ID, "", []any{"color", m.you.Color, "name", m.you.Name, "others", len(m.others)}
}

// joined announces another reader's arrival.
type joined struct{ reader readtag.Reader }

func (m joined) traceInfo() (string, string, []any) {
	return "", "", []any{"joined", m.reader.ID, "color", m.reader.Color, "name", m.reader.Name}
}

// left announces another reader's departure.
type left struct{ id string }

func (m left) traceInfo() (string, string, []any) { return "", "", []any{"left", m.id} }

// movesMsg is one tick's batch of moves, shared by every connection of a room.
type movesMsg struct{ moves []readtag.Move }

func (m movesMsg) traceInfo() (string, string, []any) { return "", "", []any{"moves", len(m.moves)} }

// dropped tells a connection that the engine can no longer serve it.
type dropped struct{ reason string }

func (m dropped) traceInfo() (string, string, []any) { return "", "", []any{"reason", m.reason} }

// joinExpired fires joinTimeout after a connection started.
type joinExpired struct{}

// conn is the only bridge between one WebSocket and the engine: it joins the
// room, forwards the reader's scrolls to its reader actor, and hands what the
// room sends to the socket's Client, which never blocks. When the socket
// closes the handler stops this actor and the monitor tells the room.
type conn struct {
	slug   string
	id     string
	client readtag.Client
	rooms  *actor.PID
	hidden bool

	reader  *actor.PID // nil until welcomed
	early   *scroll    // latest scroll that arrived before the welcome
	expires *time.Timer
	// publish, if set, is where the conn publishes the reader actor once
	// welcomed, for the session to send scrolls to it directly.
	publish *atomic.Pointer[actor.PID]
}

func newConn(slug, id string, hidden bool, client readtag.Client, rooms *actor.PID, publish *atomic.Pointer[actor.PID]) actor.Producer {
	return func() actor.Receiver {
		return &conn{slug: slug, id: id, hidden: hidden, client: client, rooms: rooms, publish: publish}
	}
}

func (cn *conn) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		c.Send(cn.rooms, join{slug: cn.slug, readerID: cn.id, conn: c.PID(), hidden: cn.hidden})
		cn.expires = after(c.Engine(), c.PID(), joinTimeout, joinExpired{})
	case welcome:
		cn.expires.Stop()
		cn.reader = msg.reader
		if cn.early != nil {
			c.Send(cn.reader, *cn.early)
			cn.early = nil
		}
		// Published before the welcome is queued, so every scroll the
		// client sends once welcomed goes straight to the reader. Scrolls
		// still queued here reach it after newer ones: their sequence
		// numbers let the reader drop them.
		if cn.publish != nil {
			cn.publish.Store(cn.reader)
		}
		cn.client.Welcome(msg.you, msg.others)
	case scroll:
		if cn.reader == nil {
			cn.early = &msg
			return
		}
		c.Send(cn.reader, msg)
	case joined:
		cn.client.Join(msg.reader)
	case left:
		cn.client.Leave(msg.id)
	case movesMsg:
		cn.client.Moves(msg.moves)
	case crowdMsg:
		cn.client.Crowd(msg.update)
	case dropped:
		cn.client.Drop(msg.reason)
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
