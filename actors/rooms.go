package actors

import (
	"strings"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// join asks for a reader to be added to a post's room. The connection actor
// sends it to the room registry, which forwards it to the room.
type join struct {
	slug     string
	readerID string
	// name and color, if set, are the identity the reader had before (a
	// resume): kept when the name is free in the room.
	name, color string
	conn        *actor.PID
	// client is the socket's outgoing half: the room writes to it directly
	// (it never blocks), so every frame of a reader comes from one
	// goroutine, the room's, in the room's order.
	client readtag.Client
	// publish is where the room publishes the reader's seat before it
	// queues the welcome, so that the session puts every scroll made
	// after the welcome straight into it.
	publish *atomic.Pointer[seat]
	// hidden readers see the others but are not shown to them, counted,
	// or replicated to other nodes.
	hidden bool
}

func (m join) traceInfo() (string, string, []any) { return m.readerID, m.slug, nil }

// roomIdle tells the registry that a room has no readers left after the
// given number of joins.
type roomIdle struct {
	slug  string
	joins int
}

func (m roomIdle) traceInfo() (string, string, []any) { return "", m.slug, []any{"joins", m.joins} }

// roomGone is the monitor's word that a room stopped (it failed, or was
// stopped when idle).
type roomGone struct {
	slug string
	pid  *actor.PID
}

func (m roomGone) traceInfo() (string, string, []any) { return "", m.slug, nil }

// rooms is the dynamic supervisor of rooms: one room per post that has
// readers, spawned on the first join and stopped when its last reader leaves.
type rooms struct {
	sys     *system
	monitor *actor.PID
	tracker *actor.PID // nil on a single node
	byslug  map[string]*roomRef
}

type roomRef struct {
	pid   *actor.PID
	joins int // joins forwarded; the room is idle only if it saw them all
	// stopping is set once the idle room was told to stop; joins that
	// arrive until it has stopped wait in pending for its successor (which
	// takes the same ID, so it cannot be spawned before the old one is gone).
	stopping bool
	pending  []join
}

func newRooms(sys *system, monitor, tracker *actor.PID) actor.Producer {
	return func() actor.Receiver {
		return &rooms{sys: sys, monitor: monitor, tracker: tracker, byslug: make(map[string]*roomRef)}
	}
}

func (r *rooms) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case join:
		ref, ok := r.byslug[msg.slug]
		switch {
		case !ok:
			ref = r.start(c, msg.slug)
		case ref.stopping:
			ref.pending = append(ref.pending, msg)
			return
		}
		ref.joins++
		c.Send(ref.pid, msg)
	case roomIdle:
		// A join forwarded after the room found itself empty is still in its
		// inbox: then the room is not idle after all.
		ref, ok := r.byslug[msg.slug]
		if !ok || ref.stopping || ref.joins != msg.joins {
			return
		}
		ref.stopping = true
		c.Engine().Poison(ref.pid)
	case actor.Stopped:
		for _, ref := range r.byslug {
			c.Engine().Poison(ref.pid)
		}
	case roomGone:
		ref, ok := r.byslug[msg.slug]
		if !ok || !ref.pid.Equals(msg.pid) {
			return
		}
		delete(r.byslug, msg.slug)
		if len(ref.pending) == 0 {
			return
		}
		next := r.start(c, msg.slug)
		for _, j := range ref.pending {
			next.joins++
			c.Send(next.pid, j)
		}
	}
}

func (r *rooms) start(c *actor.Context, slug string) *roomRef {
	pid := r.sys.spawnUnder(c.PID(), newRoom(r.sys, slug, c.PID(), r.monitor, r.tracker), kindRoom, roomActorID(slug), tags{post: slug})
	c.Send(r.monitor, watch{target: pid, notify: c.PID(), msg: roomGone{slug: slug, pid: pid}})
	ref := &roomRef{pid: pid}
	r.byslug[slug] = ref
	return ref
}

// roomActorID names the room of key among the actors. An embedded page's
// key has slashes ("blog.example.com/posts/hello"), and a room's readers
// are named under it (".../room/<key>/reader/<id>"), so a page whose path
// ended in "/reader/<id>" would name a reader of another room: Hollywood
// hands back the existing actor for a name taken, and the join would go
// to that reader. No key has a "|" (pagekey escapes it), so this is one to
// one.
func roomActorID(key string) string { return strings.ReplaceAll(key, "/", "|") }
