// Package readtag holds the few domain types that the presence engine (package
// actors) and the HTTP edge (package web) share: a reader's ghost, a move, and
// the two narrow interfaces through which a connection and the engine talk.
//
// Neither side knows the other: web never imports Hollywood and actors never
// imports Fiber. cmd/readtag wires them together.
package readtag

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Reader is one person reading a post, as every other reader of it sees them.
type Reader struct {
	// ID is random, unique per connection, and the only identity a reader has.
	ID string
	// Color is a "#rrggbb" hue that is readable on light and dark pages.
	Color string
	// Name is a short anonymous name ("Teal Otter"), unique within the
	// post, across every node of a cluster.
	Name string
	// Position is how far through the article the top of the reader's
	// viewport is: 0 is the start of the article, 1 its end.
	Position float64
}

// Move is the latest position of one reader.
type Move struct {
	ID       string
	Position float64
	// Live, if set, is the reader's position as it changes: a client that
	// writes the move after the engine made it writes Latest, the position
	// at the time of writing, rather than a stale one.
	Live *Cell
}

// Latest is the reader's position now: Live's if the move has one, else
// Position.
func (m Move) Latest() float64 {
	if m.Live != nil {
		return m.Live.Load()
	}
	return m.Position
}

// A Cell holds one reader's latest position. The engine stores into it on
// every move; clients load it from their writers' goroutines.
type Cell struct{ bits atomic.Uint64 }

// Store sets the position.
func (c *Cell) Store(p float64) { c.bits.Store(math.Float64bits(p)) }

// Load returns the position.
func (c *Cell) Load() float64 { return math.Float64frombits(c.bits.Load()) }

// Client is the outgoing half of one reader's connection. The engine calls it
// from actor goroutines, so every method must return at once: implementations
// queue (and coalesce) what they are given and write it on their own time.
type Client interface {
	// Welcome is the first call: the reader's own identity and everyone else
	// already reading the post.
	Welcome(you Reader, others []Reader)
	// Join announces a reader who arrived after the welcome.
	Join(r Reader)
	// Leave announces that the reader with this id has gone.
	Leave(id string)
	// Moves carries the latest positions of readers who moved since the last
	// tick. The slice is shared with other clients and must not be modified;
	// it may include the client's own id, which the client skips.
	Moves(moves []Move)
	// Crowd is one tick's update for a reader of a crowded post, where each
	// reader is shown only the readers nearest to it and those who moved
	// last, plus a density summary of everyone. Its lists are the client's
	// own (Bands excepted), from a pool: the client may hand them back with
	// update.Recycle once it has written or merged them.
	Crowd(update Crowd)
	// Drop tells the client that the engine can no longer serve it (its actor
	// failed or the server is stopping); the connection should be closed so
	// the browser reconnects and gets a fresh welcome.
	Drop(reason string)
}

// TakenOver is the Drop reason for a connection whose reader came back on a
// newer connection (a resumed identity): the client closes it with a code
// of its own, and the page joins afresh instead of taking it back.
const TakenOver = "taken over by a newer connection of this reader"

// Crowd is what changed for one reader of a crowded post since the last tick.
// The client applies Leave, then Join, then Moves.
type Crowd struct {
	// Total is how many readers the post has (including this one).
	Total int
	// Bands counts the readers in each 2 % band of the article (50 bands,
	// band i covers positions [i/50, (i+1)/50), the last one includes 1).
	// It is shared between clients and must not be modified.
	Bands []int
	// Join are readers that became visible to this reader; Leave the ids
	// that stopped being visible (or left); Moves new positions of visible
	// readers.
	Join  []Reader
	Leave []string
	Moves []Move

	lists *crowdLists // where Join, Leave and Moves came from (NewCrowd), or nil
}

// crowdLists are the arrays of one crowd update's lists, between updates.
type crowdLists struct {
	join  []Reader
	leave []string
	moves []Move
}

// crowdPool holds crowd updates' arrays: a hot post's room hands out tens
// of thousands of updates a second, and their lists were nine tenths of
// all the memory the server allocated (docs/performance.md, issue 24).
var crowdPool = sync.Pool{New: func() any { return new(crowdLists) }}

// maxPooledList is the longest list whose array goes back to the pool: a
// crowd view shows a few dozen readers; a longer one goes to the GC.
const maxPooledList = 64

// NewCrowd returns an update with empty lists whose arrays come from a
// pool. Whoever holds the update last gives them back with Recycle.
func NewCrowd() Crowd {
	l := crowdPool.Get().(*crowdLists)
	return Crowd{Join: l.join[:0], Leave: l.leave[:0], Moves: l.moves[:0], lists: l}
}

// Recycle gives the arrays of an update made by NewCrowd back to the pool
// (others are left to the collector): neither u nor any slice of its lists
// may be used afterwards, by anyone. A client calls it once the update is
// written, or merged into another.
func (u *Crowd) Recycle() {
	l := u.lists
	if l == nil {
		return
	}
	u.lists = nil
	l.join, l.leave, l.moves = pooled(u.Join), pooled(u.Leave), pooled(u.Moves)
	u.Join, u.Leave, u.Moves = nil, nil, nil
	crowdPool.Put(l)
}

// pooled is a list's array, cleared so that it pins nothing, if it is
// short enough to keep.
func pooled[T any](s []T) []T {
	if cap(s) > maxPooledList {
		return nil
	}
	clear(s[:cap(s)])
	return s[:0]
}

// Session is the incoming half of one reader's connection.
type Session interface {
	// Scroll records the reader's new position, already validated to [0,1].
	Scroll(position float64)
	// Leave ends the session; the reader's ghost leaves every other screen.
	Leave()
}

// ClusterStatus is how a cluster node sees its peers, for /healthz and
// /metrics.
type ClusterStatus struct {
	// Peers are the configured peers, sorted by id.
	Peers []PeerStatus
	// Missing are the peers that are not up.
	Missing []string
	// Counters are cumulative counts by name (resyncs, snapshots_sent,
	// snapshots_received, link_stalls, …).
	Counters map[string]int64
	// TLS is the node's cluster certificates; nil without TLS.
	TLS *TLSStatus
}

// TLSStatus is the cluster certificates a node uses for new connections,
// and how many times new ones were read from disk.
type TLSStatus struct {
	// Certs are the node's own certificate, then each CA it trusts.
	Certs []CertStatus
	// Reloads are the new sets taken since start, Refused those refused.
	Reloads, Refused int64
}

// CertStatus is one certificate in use.
type CertStatus struct {
	Role            string // "node" or "ca"
	Subject, Serial string // common name; serial number in hex
	NotAfter        time.Time
}

// PeerStatus is one peer of a cluster node.
type PeerStatus struct {
	ID   string
	Addr string // where this node sends to it
	// State is "up" (both directions work), "one-way" (this node hears it
	// but it does not hear this node) or "down" (nothing heard lately).
	State string
	// Link is whether this node has a connection to it now.
	Link bool
	// HeardAgo is how long ago this node last heard it; HeardUsAgo how long
	// ago it last said it hears this node. -1 means never.
	HeardAgo, HeardUsAgo time.Duration
}
