package actors

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// palette holds twelve distinct hues of middle lightness, readable as a tag
// on both the light and the dark theme. A room hands out the least used hue
// among the post's readers it sees (on every node), so no two readers in a
// room of up to twelve share one, unless two nodes picked at one moment
// (names.go).
var palette = [...]string{
	"#e5484d", "#f76b15", "#d4a017", "#7cb518", "#30a46c", "#12a594",
	"#05a2c2", "#3e8ed0", "#5b6ee1", "#8e4ec6", "#ab4aba", "#d6409f",
}

// readerGone is the monitor's word that a reader's connection or its reader
// actor stopped; pid says which of the two.
type readerGone struct {
	id  string
	pid *actor.PID
}

func (m readerGone) traceInfo() (string, string, []any) { return m.id, "", []any{"stopped", m.pid.ID} }

// tick makes a room send the moves it collected.
type tick struct{}

// tellTracker makes a room hand its own moves to the tracker (cluster mode).
type tellTracker struct{}

// room is one post's dynamic supervisor: it spawns a reader actor per
// connection, keeps the table of who is where, and sends each connection
// at most one batch per tick with the latest position of everyone who moved
// (the first move after a quiet tick at once, later ones at the next tick).
type room struct {
	sys     *system
	trace   socketTrace // nil unless tracing (see trace.go)
	slug    string
	rooms   *actor.PID
	monitor *actor.PID
	tracker *actor.PID // nil on a single node
	box     *mailbox   // what the tracker has queued here (roomInbox)
	moves   *movebox   // the seats of own readers who scrolled (reader.go)
	seats   []*seat    // the movebox's other array, reused

	members  map[string]*member // local and remote readers
	local    int                // how many members are this node's own
	hidden   int                // how many of them are hidden
	joins    int                // join messages seen, for the idle handshake with rooms
	colorUse [len(palette)]int
	names    map[string]bool // every name in use, own and remote
	shared   map[string]int  // names held by more than one reader: the extra holders (names.go)

	// synced is false, in cluster mode, until the tracker has sent the
	// readers other nodes have; joins wait in early until then so that
	// every welcome is complete.
	synced bool
	early  []join

	// joining is the readers who joined since the last tick, in order: their
	// join frames go out at the tick, before its moves, to every reader who
	// was there before them (member.seq), so that joins arriving together
	// (a storm backs them up in the room's inbox) reach each socket as one
	// batch, one writer wake-up and one write, instead of one each.
	joining []*member
	pending []readtag.Move // moves since the last tick, one per reader
	index   map[string]int // reader id → position in pending
	ours    []readtag.Move // own moves not yet handed to the tracker
	oursAt  *time.Timer    // when they go (every movesEvery, not at the tick), nil when none is due
	oursOut time.Time      // when they last went
	timer   *time.Timer    // the next tick, nil when none is due
	flushed time.Time      // the last tick

	nextSeq uint32 // the seq the next member gets (member.seq)
	// membership counts joins and leaves (any change to members): the
	// crowd's sort keys (byPosition) are for one membership.
	membership uint64

	crowd crowdState // crowd mode (crowd.go)
}

type member struct {
	reader readtag.Reader
	// live is reader.Position for the clients' writers (see readtag.Move.Live).
	live  readtag.Cell
	color int        // index into palette, -1 for a colour from elsewhere
	node  string     // "" for this node's own readers
	conn  *actor.PID // own readers only
	// client and publish: own readers only (see join)
	client  readtag.Client
	publish *atomic.Pointer[seat]
	pid     *actor.PID // the reader actor, own readers only
	seat    *seat      // where its scrolls land, own readers only
	hidden  bool       // own readers only: shown to nobody else
	// seq is the member's place in the order it joined the room (own and
	// remote readers alike): the joins of a tick go to those who came
	// before (sendJoins), and readers at one position are ordered by it, so
	// that the nearest readers of a crowd view do not change from tick to
	// tick when many readers share a position (a post's readers all start
	// at its top).
	seq uint32
	crowdSeat
}

func newRoom(sys *system, slug string, rooms, monitor, tracker *actor.PID) actor.Producer {
	return func() actor.Receiver {
		return &room{
			sys:     sys,
			trace:   sys.socketTracer(slug),
			slug:    slug,
			rooms:   rooms,
			monitor: monitor,
			tracker: tracker,
			box:     &mailbox{max: roomInbox},
			synced:  tracker == nil,
			members: make(map[string]*member),
			index:   make(map[string]int),
			names:   make(map[string]bool),
		}
	}
}

func (r *room) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		r.moves = &movebox{engine: c.Engine(), room: c.PID()}
		if r.tracker != nil {
			c.Send(r.tracker, roomSubscribe{post: r.slug, room: c.PID(), box: r.box})
		}
	case join:
		if !r.synced {
			r.early = append(r.early, msg)
			return
		}
		r.join(c, msg)
	case movesDue:
		r.collectMoves(c)
	case tick:
		r.flush(c)
	case bandsDue:
		r.sendHeldBands(c)
	case tellTracker:
		r.oursAt = nil
		r.tellTracker(c)
	case readerGone:
		r.leave(c, msg)
	case remoteSnapshot:
		r.box.done()
		r.remoteSnapshot(c, msg)
		r.synced = true
		for _, j := range r.early {
			r.join(c, j)
		}
		r.early = nil
	case remoteJoin:
		r.box.done()
		r.remoteJoin(c, msg.reader)
	case remoteMoves:
		r.box.done()
		for _, m := range msg.moves {
			if mem, ok := r.members[m.ID]; ok && mem.node == msg.node {
				r.move(c, m.ID, m.Position, false)
			}
		}
	case remoteLeave:
		r.box.done()
		if m, ok := r.members[msg.id]; ok && m.node == msg.node {
			r.remove(c, msg.id, m)
		}
	case actor.Stopped:
		if r.timer != nil {
			r.timer.Stop()
		}
		if r.oursAt != nil {
			r.oursAt.Stop()
		}
		if r.crowd.bandsAt != nil {
			r.crowd.bandsAt.Stop()
		}
		if r.tracker != nil {
			c.Send(r.tracker, roomUnsubscribe{post: r.slug, room: c.PID()})
		}
		r.sys.counts.setLocal(r.slug, 0)
		// Only a room that failed (or a server that is stopping) stops with
		// readers in it: stop them, and drop their connections so the
		// browsers reconnect to a fresh room.
		for _, m := range r.members {
			if m.node != "" {
				continue
			}
			c.Engine().Poison(m.pid)
			r.drop(c, m, "the post's room stopped; reconnecting")
			if r.tracker != nil && !m.hidden {
				c.Send(r.tracker, localLeave{post: r.slug, id: m.reader.ID})
			}
		}
	}
}

func (r *room) join(c *actor.Context, msg join) {
	r.joins++
	if old, dup := r.members[msg.readerID]; dup && !r.takeOver(c, old, msg) {
		return
	}
	color, name := r.sys.names.pickIdentity(&r.colorUse, r.names)
	if i := slices.Index(palette[:], msg.color); i >= 0 && msg.name != "" && !r.names[msg.name] {
		color, name = i, msg.name // a resumed reader: its name is free here
	}
	you := readtag.Reader{ID: msg.readerID, Color: palette[color], Name: name}
	actorName := you.ID
	if msg.name != "" {
		actorName = r.sys.resumeName(you.ID) // a takeover's old reader may not be gone yet
	}
	st := r.newSeat(you.ID)
	st.pid = r.sys.spawnUnder(c.PID(), r.sys.newReader(st), kindReader, actorName, tags{post: r.slug, reader: you.ID})
	pid := st.pid
	m := &member{reader: you, color: color, conn: msg.conn, client: msg.client, publish: msg.publish, pid: pid, seat: st, hidden: msg.hidden, seq: r.nextSeq, crowdSeat: crowdSeat{slot: r.crowd.nextSlot}}
	m.live.Store(you.Position)
	r.crowd.nextSlot++
	r.nextSeq++
	var others []readtag.Reader
	if r.crowd.on {
		others = r.crowdJoin(m)
	} else {
		others = make([]readtag.Reader, 0, len(r.members))
		for _, o := range r.members {
			if !o.hidden {
				others = append(others, o.reader)
			}
		}
		if !m.hidden && r.local > 0 {
			r.joining = append(r.joining, m) // told at the tick (flush)
		}
	}
	r.members[you.ID] = m
	r.membership++
	r.local++
	if m.hidden {
		r.hidden++
	}
	// The index counts whom others can see: hidden readers are not shown.
	r.sys.counts.setLocal(r.slug, r.local-r.hidden)
	r.colorUse[color]++
	r.takeName(name)
	if r.tracker != nil && !m.hidden {
		c.Send(r.tracker, localJoin{post: r.slug, reader: you})
	}
	c.Send(r.monitor, watch{target: msg.conn, notify: c.PID(), msg: readerGone{id: you.ID, pid: msg.conn}})
	c.Send(r.monitor, watch{target: pid, notify: c.PID(), msg: readerGone{id: you.ID, pid: pid}})
	r.welcome(c, m, others)
	if r.crowd.on || len(r.joining) > 0 {
		r.schedule(c) // after the welcome: the newcomer's first crowd frame must follow it
	}
	r.checkMode(c)
}

// takeOver gives a reader that came back (a resume token) while its old
// connection is still in the room that place: the old socket is dropped
// with readtag.TakenOver, the new one gets a new reader actor and the
// welcome, and the others see nothing happen. The old connection's and
// reader actor's watches then fire for pids that are no longer the
// member's, and leave ignores them. A reader that changed its hide-me
// choice leaves (as others saw it) and joins again under the same name:
// takeOver reports true, and join goes on. A remote member with that id,
// or a duplicate join without a resume, is dropped: the page tries again.
func (r *room) takeOver(c *actor.Context, m *member, msg join) (rejoin bool) {
	if m.node != "" || msg.name == "" {
		msg.client.Drop("this reader's earlier connection is still open; reconnecting")
		return false
	}
	r.drop(c, m, readtag.TakenOver)
	c.Engine().Poison(m.pid)
	if m.hidden != msg.hidden {
		r.remove(c, m.reader.ID, m)
		if r.tracker != nil && !m.hidden {
			c.Send(r.tracker, localLeave{post: r.slug, id: m.reader.ID})
		}
		return true
	}
	m.conn, m.client, m.publish = msg.conn, msg.client, msg.publish
	m.seat = r.newSeat(m.reader.ID)
	m.seat.pid = r.sys.spawnUnder(c.PID(), r.sys.newReader(m.seat), kindReader, r.sys.resumeName(m.reader.ID), tags{post: r.slug, reader: m.reader.ID})
	m.pid = m.seat.pid
	c.Send(r.monitor, watch{target: msg.conn, notify: c.PID(), msg: readerGone{id: m.reader.ID, pid: msg.conn}})
	c.Send(r.monitor, watch{target: m.pid, notify: c.PID(), msg: readerGone{id: m.reader.ID, pid: m.pid}})
	var others []readtag.Reader
	if r.crowd.on {
		others = r.crowdJoin(m)
	} else {
		for id, o := range r.members {
			if id != m.reader.ID && !o.hidden {
				others = append(others, o.reader)
			}
		}
	}
	r.welcome(c, m, others)
	if r.crowd.on {
		r.schedule(c)
	}
	return false
}

// welcome publishes a reader's seat to its session, queues its welcome
// frame, and tells its conn. Publishing first means that every scroll the
// client makes once welcomed goes straight to the seat.
func (r *room) welcome(c *actor.Context, m *member, others []readtag.Reader) {
	if m.publish != nil {
		m.publish.Store(m.seat)
	}
	if r.trace != nil {
		r.trace(c, m, "welcome", "color", m.reader.Color, "name", m.reader.Name, "others", len(others))
	}
	m.client.Welcome(m.reader, others)
	c.Send(m.conn, welcome{you: m.reader, others: len(others), reader: m.pid})
}

// sendJoin hands m's socket another reader's arrival.
func (r *room) sendJoin(c *actor.Context, m *member, who readtag.Reader) {
	if r.trace != nil {
		r.trace(c, m, "join", "joined", who.ID, "color", who.Color, "name", who.Name)
	}
	m.client.Join(who)
}

// drop tells m's socket that the engine can no longer serve it.
func (r *room) drop(c *actor.Context, m *member, reason string) {
	if r.trace != nil {
		r.trace(c, m, "drop", "reason", reason)
	}
	m.client.Drop(reason)
}

// remoteSnapshot makes the other nodes' readers those of msg: the first
// when the room starts, or again after the room missed changes (roomInbox).
func (r *room) remoteSnapshot(c *actor.Context, msg remoteSnapshot) {
	listed := make(map[string]string, len(msg.readers)) // id → node
	for _, rr := range msg.readers {
		listed[rr.ID] = rr.node
	}
	for id, m := range r.members {
		if node, ok := listed[id]; m.node != "" && (!ok || node != m.node) {
			r.remove(c, id, m)
		}
	}
	for _, rr := range msg.readers {
		r.remoteJoin(c, rr)
	}
}

// remoteJoin adds (or updates) a reader of another node and tells ours.
func (r *room) remoteJoin(c *actor.Context, rr remoteReader) {
	if m, ok := r.members[rr.ID]; ok {
		if m.node == rr.node {
			if m.reader.Name != rr.Name || m.reader.Color != rr.Color {
				r.remoteRenamed(c, m, rr)
			}
			r.move(c, rr.ID, rr.Position, false)
		}
		return
	}
	color := slices.Index(palette[:], rr.Color)
	if color >= 0 {
		r.colorUse[color]++
	}
	m := &member{reader: rr.Reader, color: color, node: rr.node, seq: r.nextSeq}
	r.nextSeq++
	m.live.Store(rr.Position)
	r.members[rr.ID] = m
	r.membership++
	r.takeName(rr.Name)
	if r.crowd.on {
		r.touch()
		r.schedule(c)
	} else {
		for _, m := range r.members {
			if m.node == "" {
				r.sendJoin(c, m, rr.Reader)
			}
		}
	}
	r.resolve(c, rr.Reader)
	r.checkMode(c)
}

// newSeat is the seat of a reader joining now (see seat); the caller sets
// its pid before the welcome publishes it.
func (r *room) newSeat(id string) *seat {
	return &seat{id: id, box: r.moves, traced: r.sys.tracesScrolls(r.slug)}
}

// collectMoves takes the positions of the seats that changed since the
// room last looked (movebox): a seat whose reader left, or was taken over
// by a newer connection, is passed over, and so is a scroll back to where
// the room already has the reader.
func (r *room) collectMoves(c *actor.Context) {
	seats := r.moves.take(r.seats)
	for i, st := range seats {
		seats[i] = nil
		pos := st.take()
		if m, ok := r.members[st.id]; ok && m.seat == st && pos != m.reader.Position {
			r.move(c, st.id, pos, true)
		}
	}
	r.seats = seats[:0]
}

// move records a reader's new position for the next tick; own moves are
// also kept for the tracker.
func (r *room) move(c *actor.Context, id string, position float64, own bool) {
	m, ok := r.members[id]
	if !ok {
		return
	}
	m.reader.Position = position
	m.live.Store(position)
	switch {
	case m.hidden:
		// Nobody else is told; in crowd mode the reader's own view follows it.
		if r.crowd.on {
			r.touch()
			r.schedule(c)
		}
		return
	case r.crowd.on:
		r.touch()
		r.noteMover(id)
	default:
		if i, ok := r.index[id]; ok {
			r.pending[i].Position = position
		} else {
			r.index[id] = len(r.pending)
			r.pending = append(r.pending, readtag.Move{ID: id, Position: position, Live: &m.live})
		}
	}
	if own && r.tracker != nil {
		r.ours = append(r.ours, readtag.Move{ID: id, Position: position})
		if r.oursAt == nil {
			r.oursAt = after(c.Engine(), c.PID(), max(0, movesEvery-time.Since(r.oursOut)), tellTracker{})
		}
	}
	r.schedule(c)
}

// schedule arranges the next tick. The first change after a quiet tick is
// sent at once, later ones wait for the next tick, so a connection gets at
// most one batch a tick. Even "at once" goes through the inbox (a timer of
// zero): a room with joins or moves queued handles them all before it
// flushes, instead of paying a whole flush for each one.
func (r *room) schedule(c *actor.Context) {
	if r.timer != nil {
		return
	}
	every := r.tickEvery()
	if r.crowd.on {
		every /= time.Duration(r.turns())
	}
	r.timer = after(c.Engine(), c.PID(), max(0, every-time.Since(r.flushed)), tick{})
}

// tickEvery is the room's tick: Config.Tick, doubled for a crowd of at
// least slowTickReaders, where a tick's cost is a frame to every reader.
func (r *room) tickEvery() time.Duration {
	if r.crowd.on && len(r.members) >= slowTickReaders {
		return 2 * r.sys.cfg.Tick
	}
	return r.sys.cfg.Tick
}

// flush sends every connection the moves of this tick. The slice is shared
// by all of them, so the next tick starts a new one.
func (r *room) flush(c *actor.Context) {
	r.timer = nil
	if r.crowd.on {
		if r.held(c) {
			return
		}
		r.flushed = time.Now()
		r.crowdFlush(c)
		return
	}
	if len(r.pending) == 0 && len(r.joining) == 0 {
		return
	}
	r.flushed = time.Now()
	if len(r.joining) > 0 {
		r.sendJoins(c)
	}
	if len(r.pending) == 0 {
		return
	}
	moves := r.pending
	r.pending = make([]readtag.Move, 0, len(moves))
	clear(r.index)
	for _, m := range r.members {
		if m.node != "" || (len(moves) == 1 && moves[0].ID == m.reader.ID) {
			continue // remote readers are served by their own node; nothing for the only mover
		}
		if r.trace != nil {
			r.trace(c, m, "moves", "moves", len(moves))
		}
		m.client.Moves(moves)
	}
}

// sendJoins hands each local reader the joins of the readers who came
// after it since the last tick (the earlier ones were in its welcome).
func (r *room) sendJoins(c *actor.Context) {
	for _, o := range r.members {
		if o.node != "" {
			continue
		}
		for _, j := range r.joining {
			if j.seq > o.seq {
				r.sendJoin(c, o, j.reader)
			}
		}
	}
	clear(r.joining)
	r.joining = r.joining[:0]
}

// tellTracker hands our own moves to the tracker (cluster mode).
func (r *room) tellTracker(c *actor.Context) {
	if len(r.ours) > 0 {
		r.oursOut = time.Now()
		c.Send(r.tracker, localMoves{post: r.slug, moves: dedupe(r.ours)})
		r.ours = nil
	}
}

// dedupe keeps the last move of each reader, in order of last move.
func dedupe(moves []readtag.Move) []readtag.Move {
	last := make(map[string]int, len(moves))
	for i, m := range moves {
		last[m.ID] = i
	}
	out := moves[:0]
	for i, m := range moves {
		if last[m.ID] == i {
			out = append(out, m)
		}
	}
	return out
}

func (r *room) leave(c *actor.Context, msg readerGone) {
	m, ok := r.members[msg.id]
	if !ok || m.node != "" {
		return // already gone: the other of its two watches fired first
	}
	if !msg.pid.Equals(m.pid) && !msg.pid.Equals(m.conn) {
		return // a connection taken over (takeOver): the reader stays
	}
	if msg.pid.Equals(m.pid) {
		r.drop(c, m, "your reader failed on the server; reconnecting")
	} else {
		c.Engine().Poison(m.pid)
	}
	r.remove(c, msg.id, m)
	if r.tracker != nil && !m.hidden {
		c.Send(r.tracker, localLeave{post: r.slug, id: msg.id})
	}
	if r.local == 0 {
		c.Send(r.rooms, roomIdle{slug: r.slug, joins: r.joins})
	}
}

// remove takes a reader out of the room and tells this node's others.
func (r *room) remove(c *actor.Context, id string, m *member) {
	delete(r.members, id)
	r.membership++
	if m.color >= 0 {
		r.colorUse[m.color]--
	}
	r.dropName(m.reader.Name)
	if m.node == "" {
		r.local--
	}
	if m.hidden {
		r.hidden--
	}
	if m.node == "" {
		r.sys.counts.setLocal(r.slug, r.local-r.hidden)
	}
	if i, ok := r.index[id]; ok {
		last := len(r.pending) - 1
		r.pending[i] = r.pending[last]
		r.index[r.pending[i].ID] = i
		r.pending = r.pending[:last]
		delete(r.index, id)
	}
	r.forgetMover(id)
	// A reader whose join has not gone out yet leaves only the screens of
	// those who had it in their welcome (who came after it).
	after := uint32(0)
	if i := slices.Index(r.joining, m); i >= 0 {
		r.joining = slices.Delete(r.joining, i, i+1)
		after = m.seq + 1
	}
	if r.crowd.on {
		r.touch()
		r.schedule(c)
	} else if !m.hidden {
		for _, o := range r.members {
			if o.node == "" && o.seq >= after {
				if r.trace != nil {
					r.trace(c, o, "leave", "left", id)
				}
				o.client.Leave(id)
			}
		}
	}
	r.checkMode(c)
}
