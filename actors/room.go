package actors

import (
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// palette holds twelve distinct hues of middle lightness, readable as a tag
// on both the light and the dark theme. A room hands out unused hues first,
// so no two readers in a room of up to twelve share one.
var palette = [...]string{
	"#e5484d", "#f76b15", "#d4a017", "#7cb518", "#30a46c", "#12a594",
	"#05a2c2", "#3e8ed0", "#5b6ee1", "#8e4ec6", "#ab4aba", "#d6409f",
}

// moved is a reader actor's report of its reader's new position.
type moved struct {
	id       string
	position float64
}

func (m moved) traceInfo() (string, string, []any) { return m.id, "", []any{"position", m.position} }

// readerGone is the monitor's word that a reader's connection or its reader
// actor stopped; pid says which of the two.
type readerGone struct {
	id  string
	pid *actor.PID
}

func (m readerGone) traceInfo() (string, string, []any) { return m.id, "", []any{"stopped", m.pid.ID} }

// tick makes a room send the moves it collected.
type tick struct{}

// room is one post's dynamic supervisor: it spawns a reader actor per
// connection, keeps the table of who is where, and every tick sends each
// connection one batch with the latest position of everyone who moved.
type room struct {
	sys     *system
	slug    string
	rooms   *actor.PID
	monitor *actor.PID

	members  map[string]*member
	joins    int // join messages seen, for the idle handshake with rooms
	colorUse [len(palette)]int

	pending []readtag.Move // moves since the last tick, one per reader
	index   map[string]int // reader id → position in pending
	timer   *time.Timer    // the next tick, nil when none is due
}

type member struct {
	reader readtag.Reader
	color  int // index into palette
	conn   *actor.PID
	pid    *actor.PID // the reader actor
}

func newRoom(sys *system, slug string, rooms, monitor *actor.PID) actor.Producer {
	return func() actor.Receiver {
		return &room{
			sys:     sys,
			slug:    slug,
			rooms:   rooms,
			monitor: monitor,
			members: make(map[string]*member),
			index:   make(map[string]int),
		}
	}
}

func (r *room) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case join:
		r.join(c, msg)
	case moved:
		r.move(c, msg)
	case tick:
		r.flush(c)
	case readerGone:
		r.leave(c, msg)
	case actor.Stopped:
		if r.timer != nil {
			r.timer.Stop()
		}
		// Only a room that failed (or a server that is stopping) stops with
		// readers in it: stop them, and drop their connections so the
		// browsers reconnect to a fresh room.
		for _, m := range r.members {
			c.Engine().Poison(m.pid)
			c.Send(m.conn, dropped{reason: "the post's room stopped; reconnecting"})
		}
	}
}

func (r *room) join(c *actor.Context, msg join) {
	r.joins++
	if _, dup := r.members[msg.readerID]; dup {
		return
	}
	color := r.pickColor()
	you := readtag.Reader{ID: msg.readerID, Color: palette[color]}
	pid := r.sys.spawnUnder(c.PID(), r.sys.newReader(you.ID, c.PID()), kindReader, you.ID, tags{post: r.slug, reader: you.ID})
	others := make([]readtag.Reader, 0, len(r.members))
	for _, m := range r.members {
		others = append(others, m.reader)
		c.Send(m.conn, joined{reader: you})
	}
	r.members[you.ID] = &member{reader: you, color: color, conn: msg.conn, pid: pid}
	r.colorUse[color]++
	c.Send(r.monitor, watch{target: msg.conn, notify: c.PID(), msg: readerGone{id: you.ID, pid: msg.conn}})
	c.Send(r.monitor, watch{target: pid, notify: c.PID(), msg: readerGone{id: you.ID, pid: pid}})
	c.Send(msg.conn, welcome{you: you, others: others, reader: pid})
}

// pickColor returns the least used hue, the first such in palette order.
func (r *room) pickColor() int {
	best := 0
	for i, n := range r.colorUse {
		if n < r.colorUse[best] {
			best = i
		}
	}
	return best
}

func (r *room) move(c *actor.Context, msg moved) {
	m, ok := r.members[msg.id]
	if !ok {
		return
	}
	m.reader.Position = msg.position
	if i, ok := r.index[msg.id]; ok {
		r.pending[i].Position = msg.position
	} else {
		r.index[msg.id] = len(r.pending)
		r.pending = append(r.pending, readtag.Move{ID: msg.id, Position: msg.position})
	}
	if r.timer == nil {
		r.timer = after(c.Engine(), c.PID(), r.sys.cfg.Tick, tick{})
	}
}

// flush sends every connection the moves of this tick. The slice is shared
// by all of them, so the next tick starts a new one.
func (r *room) flush(c *actor.Context) {
	r.timer = nil
	if len(r.pending) == 0 {
		return
	}
	moves := r.pending
	r.pending = make([]readtag.Move, 0, len(moves))
	clear(r.index)
	for _, m := range r.members {
		if len(moves) == 1 && moves[0].ID == m.reader.ID {
			continue // nothing for the only mover itself
		}
		c.Send(m.conn, movesMsg{moves: moves})
	}
}

func (r *room) leave(c *actor.Context, msg readerGone) {
	m, ok := r.members[msg.id]
	if !ok {
		return // already gone: the other of its two watches fired first
	}
	delete(r.members, msg.id)
	r.colorUse[m.color]--
	if i, ok := r.index[msg.id]; ok {
		last := len(r.pending) - 1
		r.pending[i] = r.pending[last]
		r.index[r.pending[i].ID] = i
		r.pending = r.pending[:last]
		delete(r.index, msg.id)
	}
	if msg.pid.Equals(m.pid) {
		c.Send(m.conn, dropped{reason: "your reader failed on the server; reconnecting"})
	} else {
		c.Engine().Poison(m.pid)
	}
	for _, o := range r.members {
		c.Send(o.conn, left{id: msg.id})
	}
	if len(r.members) == 0 {
		c.Send(r.rooms, roomIdle{slug: r.slug, joins: r.joins})
	}
}
