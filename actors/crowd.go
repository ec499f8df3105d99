package actors

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// Crowd mode keeps a hot post cheap: above Config.CrowdThreshold readers, a
// room stops telling everyone about everyone (N² messages and frames of
// unbounded size) and instead sends each of its readers, at most once a
// tick, one Client.Crowd: the changes to the few readers that reader is shown
// (the CrowdVisible nearest to its own position, a quarter of them the
// latest movers, each kept for at least recentStay) plus a density summary
// of the whole room. A frame then
// stays under 4 KiB whatever the room's size.

// crowdState is what a room keeps for crowd mode. It outlives the mode:
// a room that leaves crowd mode and comes back keeps its recent movers and
// its marks (stamp only grows, so a member's old vmark or dmark never
// matches a new one); its sort keys and spare arrays go (checkMode).
type crowdState struct {
	on        bool          // the room is in crowd mode
	nextSlot  uint32        // the slot the next joining reader gets
	recent    []recentMover // the latest movers, oldest place first
	waiting   []string      // newer movers waiting for a place, newest first
	lastBands []int         // the bands readers are sent, nil until the first crowd tick
	lastTotal int           // and the total that goes with them
	bandsVer  uint64        // bumped whenever the bands change
	bandsOut  time.Time     // when lastBands last changed (bandsEvery)
	bandsHeld bool          // the bands changed since, and wait for bandsDue
	bandsAt   *time.Timer
	order     []*member // members by position as of the last crowd tick
	// Crowd ticks roll: each turn (see turns) serves the readers of one
	// slot, so every reader gets at most one update per tickEvery and a big
	// room's frames are spread over the tick (see crowdFlush).
	turn      uint64    // turns taken
	heldSince time.Time // when the turn now due was first held (held), zero if it is not
	turnsLeft int       // turns before every reader has had the latest change; 0: nothing to send
	// reused between ticks (see crowdUpdates)
	spareOrder []*member
	// byPosition's keys as of its last sort, taken at membership keysAt,
	// and its scratch for the keys of readers who moved since.
	keys      []posKey
	keysAt    uint64
	moved     []posKey
	recentBuf []*member
	nearBuf   []*member // visible's scratch list
	// view is crowdUpdates' scratch for a reader's new view, which is then
	// copied into the reader's seen: one array a reader, not two (issue
	// 24: a spare per reader was 512 bytes of every crowd reader's heap).
	view    []seenEntry
	stamp   uint64 // the last mark handed out (member.vmark, dmark, pmark)
	present uint64 // the pmark of the last byPosition
}

// crowdSeat is a member's part of crowd mode (member embeds it).
type crowdSeat struct {
	// seen is, in crowd mode, what this (own) reader is shown, with the
	// positions it was last sent.
	seen []seenEntry
	// Scratch marks of the room's crowd tick: vmark says the member is in
	// the view being built, dmark in which of the viewer's old and new
	// views it is, old its position in the old one.
	vmark, dmark uint64
	old          float64
	// pmark is the room's stamp of its last byPosition: the member was in
	// the room then (visible asks it of readers m.seen may still hold).
	pmark uint64
	// bandsVer is the room's bandsVer this reader was last sent.
	bandsVer uint64
	// slot says in which turns of a crowd tick the reader is served (slot
	// modulo the tick's turns).
	slot uint32
}

// seenEntry is one reader in another's crowd view and the position that
// reader was last shown at.
type seenEntry struct {
	m   *member
	pos float64
}

// slowTickReaders is the room size (readers on every node) from which a
// crowd-mode room ticks at twice Config.Tick (100 ms by default): at 5,000
// readers a 50 ms tick is 100,000 frames a second, each its own write, and
// every reader's view changes every tick (its latest movers do).
const slowTickReaders = 2000

// bandCount is the number of density bands: 2 % of the article each.
const bandCount = 50

// recentShare is the share of a reader's visible set kept for the readers
// who moved last, wherever they are.
const recentShare = 4

// checkMode switches the room into crowd mode when it grows past the
// threshold and back when it shrinks well below it (no flapping), and
// welcomes every reader again so that each rebuilds its view.
func (r *room) checkMode(c *actor.Context) {
	n, t := len(r.members), r.sys.cfg.CrowdThreshold
	switch {
	case !r.crowd.on && n >= t:
		r.crowd.on = true
	case r.crowd.on && n < t*3/4:
		r.crowd.on = false
	default:
		return
	}
	r.pending = r.pending[:0]
	clear(r.index)
	clear(r.joining) // everyone is welcomed again, with everyone
	r.joining = r.joining[:0]
	var order, recent []*member
	if r.crowd.on {
		order = r.byPosition()
		recent = r.recentMembers(nil)
	}
	r.setOrder(order)
	for _, m := range r.members {
		if m.node != "" {
			continue
		}
		var others []readtag.Reader
		if r.crowd.on {
			m.seen = r.visible(order, m, recent, true, r.newSeen())
			others = readers(m.seen)
		} else {
			others = make([]readtag.Reader, 0, len(r.members))
			m.seen = nil
			for _, o := range r.members {
				if o != m && !o.hidden {
					others = append(others, o.reader)
				}
			}
		}
		r.welcome(c, m, others)
	}
	r.crowd.turnsLeft = 0
	if r.crowd.on {
		r.crowd.lastBands = nil // the first crowd frames have the bands of now
		r.touch()
		return
	}
	// The sort's arrays go with the mode: a room that shrank below it may
	// stay small for good, and the keys point at members who since left.
	r.crowd.keys, r.crowd.moved, r.crowd.keysAt = nil, nil, 0
	r.crowd.spareOrder, r.crowd.recentBuf, r.crowd.nearBuf, r.crowd.view = nil, nil, nil, nil
}

// newSeen is an array for a reader's crowd view, of the size the view
// gets (append's growth made 32 places of 24, in 512 bytes a reader).
func (r *room) newSeen() []seenEntry {
	return make([]seenEntry, 0, min(r.sys.cfg.CrowdVisible, len(r.members)))
}

// crowdJoin shows a reader joining a crowd its view, and returns the
// readers of it for its welcome.
func (r *room) crowdJoin(m *member) []readtag.Reader {
	// The order of the last tick will do (a join storm must not sort the
	// whole room once per join); newer readers come at the next tick.
	if r.crowd.order == nil {
		r.setOrder(r.byPosition())
	}
	m.seen = r.visible(r.crowd.order, m, r.recentMembers(nil), false, r.newSeen())
	others := readers(m.seen)
	r.touch() // the newcomer changes everyone's bands
	return others
}

// recentStay is how long a latest mover keeps its place among a room's
// recent movers before a newer mover may take it. In a hot post someone
// moves every few microseconds: without it, every reader's recent movers
// would all be replaced every tick, each a leave and a join with a name in
// every frame, for ghosts that show for 50 ms.
const recentStay = time.Second

// recentMover is one of a room's recent movers and when it got its place.
type recentMover struct {
	id    string
	since time.Time
}

// noteMover gives a mover a place among the recent movers: a free one, or
// the oldest if that has been held for recentStay; otherwise the mover
// waits (newest first) for promoteMovers.
func (r *room) noteMover(id string) {
	k := max(1, r.sys.cfg.CrowdVisible/recentShare)
	if slices.ContainsFunc(r.crowd.recent, func(e recentMover) bool { return e.id == id }) {
		return
	}
	now := time.Now()
	if len(r.crowd.recent) < k || now.Sub(r.crowd.recent[0].since) >= recentStay {
		r.placeMover(id, now, k)
		return
	}
	if i := slices.Index(r.crowd.waiting, id); i >= 0 {
		r.crowd.waiting = slices.Delete(r.crowd.waiting, i, i+1)
	}
	r.crowd.waiting = slices.Insert(r.crowd.waiting, 0, id)
	if len(r.crowd.waiting) > k {
		r.crowd.waiting = r.crowd.waiting[:k]
	}
}

// placeMover appends id to the recent movers, dropping the oldest if full.
func (r *room) placeMover(id string, now time.Time, k int) {
	if len(r.crowd.recent) >= k {
		r.crowd.recent = slices.Delete(r.crowd.recent, 0, 1)
	}
	r.crowd.recent = append(r.crowd.recent, recentMover{id: id, since: now})
}

// promoteMovers gives waiting movers, newest first, the places held for
// recentStay; it runs every crowd turn and reports whether any got one.
func (r *room) promoteMovers() (promoted bool) {
	k := max(1, r.sys.cfg.CrowdVisible/recentShare)
	now := time.Now()
	for len(r.crowd.waiting) > 0 && (len(r.crowd.recent) < k || now.Sub(r.crowd.recent[0].since) >= recentStay) {
		id := r.crowd.waiting[0]
		r.crowd.waiting = slices.Delete(r.crowd.waiting, 0, 1)
		if _, ok := r.members[id]; ok && !slices.ContainsFunc(r.crowd.recent, func(e recentMover) bool { return e.id == id }) {
			r.placeMover(id, now, k)
			promoted = true
		}
	}
	return promoted
}

// forgetMover takes a reader who left out of the recent and waiting movers.
func (r *room) forgetMover(id string) {
	if i := slices.IndexFunc(r.crowd.recent, func(e recentMover) bool { return e.id == id }); i >= 0 {
		r.crowd.recent = slices.Delete(r.crowd.recent, i, i+1)
	}
	if i := slices.Index(r.crowd.waiting, id); i >= 0 {
		r.crowd.waiting = slices.Delete(r.crowd.waiting, i, i+1)
	}
}

// byPosition is every member, sorted by position (then by arrival), in the
// room's spare order array (the last tick's order stays in r.crowd.order until the
// caller swaps them).
//
// A crowd room sorts every turn, a hundred times a second for a big one,
// and between two turns few of its readers move (a 5,000-reader post at 5
// Hz: 250 in a 10 ms turn). So the room keeps the last sort's keys
// (posKey) and, while nobody joined or left, sorts only the keys of the
// readers who moved and merges them back: the same order as a full sort,
// in a tenth of the time (BenchmarkCrowdHot: the full sort was half of a
// turn).
func (r *room) byPosition() []*member {
	r.crowd.stamp++
	r.crowd.present = r.crowd.stamp
	if r.crowd.keysAt == r.membership && len(r.crowd.keys) == len(r.members) {
		r.crowd.keys = r.resort(r.crowd.keys)
	} else {
		keys := r.crowd.keys[:0]
		for _, m := range r.members {
			keys = append(keys, posKey{pos: m.reader.Position, seq: m.seq, m: m})
		}
		slices.SortFunc(keys, posKey.compare)
		r.crowd.keys, r.crowd.keysAt = keys, r.membership
	}
	order := r.crowd.spareOrder[:0]
	r.crowd.spareOrder = nil
	for _, k := range r.crowd.keys {
		k.m.pmark = r.crowd.present
		order = append(order, k.m)
	}
	return order
}

// resort brings keys, sorted as of the last byPosition and with the same
// members, up to the members' positions now.
func (r *room) resort(keys []posKey) []posKey {
	still, moved := keys[:0], r.crowd.moved[:0]
	for _, k := range keys {
		if p := k.m.reader.Position; p != k.pos {
			k.pos = p
			moved = append(moved, k)
		} else {
			still = append(still, k)
		}
	}
	if len(moved) == 0 {
		return keys
	}
	slices.SortFunc(moved, posKey.compare)
	// Merge from the back: still is a prefix of keys' array, so the
	// merged order fits in that array without overwriting an unread key.
	i, j := len(still)-1, len(moved)-1
	keys = keys[:len(still)+len(moved)]
	for w := len(keys) - 1; j >= 0; w-- {
		if i >= 0 && still[i].compare(moved[j]) > 0 {
			keys[w] = still[i]
			i--
		} else {
			keys[w] = moved[j]
			j--
		}
	}
	clear(moved)
	r.crowd.moved = moved
	return keys
}

// posKey is a member's place in byPosition's sort, copied out of the
// member so that comparing two reads no member.
type posKey struct {
	pos float64
	seq uint32
	m   *member
}

func (a posKey) compare(b posKey) int {
	switch {
	case a.pos < b.pos:
		return -1
	case a.pos > b.pos:
		return 1
	}
	// Ties by order of arrival: the members come from a map, in a
	// different order every time, and a reader's nearest readers among
	// many at one position must not change with it.
	return cmp.Compare(a.seq, b.seq)
}

// setOrder makes order the room's current order and keeps the previous one's
// array for the next byPosition.
func (r *room) setOrder(order []*member) {
	if r.crowd.order != nil {
		clear(r.crowd.order)
		r.crowd.spareOrder = r.crowd.order[:0]
	}
	r.crowd.order = order
}

// recentMembers is the recent movers still in the room.
func (r *room) recentMembers(into []*member) []*member {
	out := into[:0]
	for _, e := range r.crowd.recent {
		if o, ok := r.members[e.id]; ok {
			out = append(out, o)
		}
	}
	return out
}

// stickyMargin is how much nearer than a reader already shown another
// must be to take its place in a crowd view (a 20th of the article, about a
// screen of a long post). A dense crowd jitters: with exactly the nearest
// shown, every tick swapped ghosts in and out (each a leave and a join with
// a name), though they all stand at one place; the load tool's hot post, all
// 5,000 readers within a few hundredths of the article, got 7.5 joins and 7.5
// leaves per frame (BenchmarkCrowdHot).
const stickyMargin = 0.05

// visible is the set of readers m is shown, with their positions: the
// latest movers (recent), then the nearest to m's own position, where a
// reader m was shown (m.seen) stays while it is within stickyMargin of the
// nearest set's edge. It fills into, reusing its array. fresh says order was
// sorted this tick, so it holds exactly the members; otherwise it may hold
// readers who left since. A member's vmark says it is already in the set
// being built: no map.
func (r *room) visible(order []*member, m *member, recent []*member, fresh bool, into []seenEntry) []seenEntry {
	k := r.sys.cfg.CrowdVisible
	out := into[:0]
	r.crowd.stamp++
	s := r.crowd.stamp
	for _, o := range recent {
		if len(out) >= max(1, k/recentShare) {
			break
		}
		if o != m && !o.hidden {
			o.vmark = s
			out = append(out, seenEntry{o, o.reader.Position})
		}
	}
	// The nearest readers not already in: the new view's nearest part if
	// m was shown nobody before, and its edge (the farthest of them) if it was.
	p := m.reader.Position
	near := r.crowd.nearBuf[:0]
	hi, _ := slices.BinarySearchFunc(order, p, func(o *member, p float64) int {
		switch {
		case o.reader.Position < p:
			return -1
		case o.reader.Position > p:
			return 1
		}
		return 0
	})
	lo := hi - 1
	for len(out)+len(near) < k && (lo >= 0 || hi < len(order)) {
		var o *member
		switch {
		case lo < 0:
			o, hi = order[hi], hi+1
		case hi >= len(order):
			o, lo = order[lo], lo-1
		case p-order[lo].reader.Position <= order[hi].reader.Position-p:
			o, lo = order[lo], lo-1
		default:
			o, hi = order[hi], hi+1
		}
		if o != m && !o.hidden && o.vmark != s && (fresh || r.members[o.reader.ID] == o) {
			near = append(near, o)
		}
	}
	r.crowd.nearBuf = near
	if len(m.seen) > 0 {
		edge := math.Inf(1) // fewer readers than the view holds: keep them all
		if len(out)+len(near) >= k {
			edge = math.Abs(near[len(near)-1].reader.Position - p)
		}
		for _, e := range m.seen {
			o := e.m
			if len(out) >= k {
				break
			}
			if o != m && !o.hidden && o.vmark != s && math.Abs(o.reader.Position-p) <= edge+stickyMargin &&
				(fresh && o.pmark == r.crowd.present || r.members[o.reader.ID] == o) {
				o.vmark = s
				out = append(out, seenEntry{o, o.reader.Position})
			}
		}
	}
	for _, o := range near {
		if len(out) >= k {
			break
		}
		if o.vmark != s {
			o.vmark = s
			out = append(out, seenEntry{o, o.reader.Position})
		}
	}
	clear(near)
	return out
}

// readers lists the readers of a view, for a welcome.
func readers(view []seenEntry) []readtag.Reader {
	out := make([]readtag.Reader, 0, len(view))
	for _, e := range view {
		out = append(out, e.m.reader)
	}
	return out
}

// bands counts the members in each 2 % of the article; hidden readers are
// not counted.
func bands(order []*member) []int {
	b := make([]int, bandCount)
	for _, m := range order {
		if m.hidden {
			continue
		}
		b[min(bandCount-1, int(m.reader.Position*bandCount))]++
	}
	return b
}

// bandsEvery is how often at most a crowd room sends new density bands
// and total when nothing else of a reader's view changed: at most twice a
// second instead of once a tick. In a join storm every join changes them,
// and a crowd frame to every reader for each join (a room of 100 readers
// gets about ten a second) would be most of the storm's crowd frames.
const bandsEvery = 500 * time.Millisecond

// bandsDue makes a crowd room send the bands it held back (bandsEvery).
type bandsDue struct{}

// sendHeldBands has the bands held back (bandsDue) go out at the next turn.
func (r *room) sendHeldBands(c *actor.Context) {
	r.crowd.bandsAt, r.crowd.bandsHeld = nil, false
	if r.crowd.on {
		r.crowd.turnsLeft = max(r.crowd.turnsLeft, 1) // the turn publishes them and touches every reader
		r.schedule(c)
	}
}

// crowdTurns is how many turns a crowd tick of Config.Tick has at most: a
// turn every 10 ms by default. A turn costs the whole room's sort and bands
// (0.2 ms of the 9 ms a 5,000-reader tick takes, BenchmarkCrowdFlush) plus
// its own readers' views.
const crowdTurns = 5

// turnReaders is how many local readers a turn serves at least: a room
// of a few hundred readers sends its whole tick in one turn (its burst is
// short), and rolling it would only multiply its sorts and timers (a join
// storm over 100 crowd posts took 10,000 turns a second).
const turnReaders = 250

// turns is how many turns the room's tick has (a turn every fifth of
// Config.Tick at most, one per turnReaders local readers): each reader is
// served in one of them (its slot), so a big room's tick goes out in turns
// spread over the tick instead of all at once. A frame still waits at most
// one tick for its reader's turn, but no longer for the room's other
// readers' frames: handing 5,000 sockets a frame each takes the server and
// the clients tens of milliseconds, and the last reader served used to wait
// for all of them.
func (r *room) turns() int {
	return max(1, min(crowdTurns*int(r.tickEvery()/r.sys.cfg.Tick), r.local/turnReaders))
}

// touch notes a change every reader may have to be told of: the next full
// round of turns serves each of them once.
func (r *room) touch() { r.crowd.turnsLeft = r.turns() }

// turnBacklog is how many socket writers may wait for a processor before
// a crowd room holds its next turn (see held): about a millisecond of
// writing on two cores. A 5,000-reader room's turn starts 500 of them.
const turnBacklog = 64

// holdRecheck is how many times a turn's interval a held turn is
// looked at again.
const holdRecheck = 4

// held says whether the room puts off the crowd turn now due, and if so
// arranges to look again: while the node's writers are behind (more than
// turnBacklog started and waiting for a processor, Presence.SetBacklog),
// for at most one tick, after which the turn goes out regardless, so a
// node busy with something else still serves every reader once a tick
// or so.
//
// Why: every turn starts a writer goroutine per reader served, and a
// room whose turns kept coming while the writers were behind piled them
// up: on a node short of CPU the read loops woken by the network poller
// waited behind them, 82 ms on average with 5,000 readers. Held turns
// bring that wait to a few milliseconds and lower the worst scroll-to-ghost
// latency (docs/performance.md, round 5). It is backpressure: a reader
// misses no change while a turn is held, its next frame carries the
// latest of its view (so fewer frames carry more).
func (r *room) held(c *actor.Context) bool {
	f := r.sys.backlog.Load()
	if f == nil || (*f)() <= turnBacklog {
		r.crowd.heldSince = time.Time{}
		return false
	}
	now := time.Now()
	if r.crowd.heldSince.IsZero() {
		r.crowd.heldSince = now
	}
	longest := r.tickEvery()
	if d := time.Duration(r.sys.holdMax.Load()); d > 0 {
		longest = d
	}
	if now.Sub(r.crowd.heldSince) >= longest {
		r.crowd.heldSince = time.Time{}
		return false
	}
	turn := r.tickEvery() / time.Duration(r.turns())
	r.timer = after(c.Engine(), c.PID(), max(time.Millisecond, turn/holdRecheck), tick{})
	return true
}

// crowdFlush takes the room's next turn: it sends the readers of that turn's
// slot what changed in their views since they were last served.
func (r *room) crowdFlush(c *actor.Context) {
	if r.crowd.turnsLeft == 0 {
		return
	}
	r.crowd.turnsLeft--
	n := r.turns()
	turn := int(r.crowd.turn % uint64(n))
	r.crowd.turn++
	r.crowdUpdates(turn, n, func(m *member, u readtag.Crowd) {
		if r.trace != nil {
			r.trace(c, m, "crowd", "total", u.Total, "join", len(u.Join), "leave", len(u.Leave), "moves", len(u.Moves))
		}
		m.client.Crowd(u)
	})
	if r.crowd.bandsHeld && r.crowd.bandsAt == nil {
		// The bands held back go out bandsEvery after the last ones.
		r.crowd.bandsAt = after(c.Engine(), c.PID(), max(0, bandsEvery-time.Since(r.crowd.bandsOut)), bandsDue{})
	}
	if len(r.crowd.waiting) > 0 {
		// Turns go on until the waiting movers have had their places.
		r.crowd.turnsLeft = max(r.crowd.turnsLeft, 1)
	}
	if r.crowd.turnsLeft > 0 {
		r.schedule(c)
	}
}

// crowdUpdates computes this tick's view changes and hands each local reader
// whose view changed its update. The work is a few passes over each
// reader's view, with marks on the members instead of maps, and each
// update's lists are arrays of readtag's pool (readtag.NewCrowd) that the
// client gives back once written, so a client's lists are its own.
// Only the readers whose slot falls in turn (of turns) are served; the
// others keep their views until their turn.
func (r *room) crowdUpdates(turn, turns int, emit func(*member, readtag.Crowd)) {
	order := r.byPosition()
	r.setOrder(order)
	if b := bands(order); !slices.Equal(b, r.crowd.lastBands) {
		if now := time.Now(); r.crowd.lastBands == nil || now.Sub(r.crowd.bandsOut) >= bandsEvery {
			r.crowd.lastBands = b // a new slice: the old one may still be queued
			r.crowd.lastTotal = len(r.members) - r.hidden
			r.crowd.bandsVer++
			r.crowd.bandsOut = now
			r.touch() // every reader is told, in this round of turns
		} else {
			r.crowd.bandsHeld = true // crowdFlush arms bandsDue
		}
	}
	b := r.crowd.lastBands
	if r.promoteMovers() {
		r.touch() // everyone's latest movers changed
	}
	recent := r.recentMembers(r.crowd.recentBuf)
	r.crowd.recentBuf = recent
	total := r.crowd.lastTotal
	// Each update's lists come from readtag's pool, and the client gives
	// them back once written: one array per list per tick, shared by every
	// update, was nine tenths of what a hot post allocated.
	var u readtag.Crowd
	// have: u has pooled lists not yet handed out; the last such goes
	// back when no reader after it had anything to send.
	have := false
	defer func() { u.Recycle() }()
	for _, m := range order {
		if m.node != "" || int(m.slot%uint32(turns)) != turn {
			continue
		}
		vis := r.visible(order, m, recent, true, r.crowd.view)
		if !have {
			u, have = readtag.NewCrowd(), true
		}
		// Everyone shown, plus the reader itself when it is hidden.
		u.Total, u.Bands = total, b
		if m.hidden {
			u.Total++
		}
		r.crowd.stamp++
		was := r.crowd.stamp // dmark: in the old view, not (yet) in the new one
		r.crowd.stamp++
		kept := r.crowd.stamp // dmark: in both
		for _, e := range m.seen {
			e.m.dmark, e.m.old = was, e.pos
		}
		for _, e := range vis {
			o := e.m
			switch {
			case o.dmark != was:
				u.Join = append(u.Join, o.reader)
			case o.old != e.pos:
				u.Moves = append(u.Moves, readtag.Move{ID: o.reader.ID, Position: e.pos, Live: &o.live})
				o.dmark = kept
			default:
				o.dmark = kept
			}
		}
		for _, e := range m.seen {
			if e.m.dmark == was {
				u.Leave = append(u.Leave, e.m.reader.ID)
			}
		}
		if cap(m.seen) < len(vis) { // it joined a smaller room
			m.seen = r.newSeen()
		}
		m.seen = append(m.seen[:0], vis...)
		clear(m.seen[len(vis):cap(m.seen)]) // no reader pinned by a shorter view
		r.crowd.view = vis
		if m.bandsVer != r.crowd.bandsVer || len(u.Leave)+len(u.Join)+len(u.Moves) > 0 {
			m.bandsVer = r.crowd.bandsVer
			emit(m, u)
			u, have = readtag.Crowd{}, false
		}
	}
}
