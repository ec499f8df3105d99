package actors

import (
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// Every reader gets a colour and a short anonymous name made of that
// colour's word and an animal ("Teal Otter"), unique within the post, so
// that readers can tell each other apart and match a name to a tag.
//
// A room picks both from what it sees of the post: its own readers and the
// other nodes' (the replicas), so a node that joined the cluster late picks
// as well as one configured from the start. The colour is the least used
// in the post; among equally used ones the node prefers its share of the
// palette. The name is the colour's word and a free animal of the node's
// share of the animals (a number added when they are all taken). The
// shares (allot) come from the node's place among the node ids it knew at
// start, so nodes known to each other from the start never pick one name,
// even at the same moment or while partitioned.
//
// A node that joined later is not in the others' split, and may pick a name
// another node picks at the same moment, before each sees the other's
// reader (or while they are partitioned). The room that then sees a remote
// reader under the name of one of its own resolves it without a leave or
// join (room.resolve): the reader with the smaller id keeps the name, and
// its own node renames the other (room.rename: a free name of the same
// colour, a welcome again for that reader, a join with the new name for the
// others and the peers). A hidden reader, whom no other node sees, always
// yields. Both nodes apply the same rule to the same pair, so exactly one
// renames; the duplicate lasts from the second pick until the rename
// reaches the screens: about a replication round trip (a tick and the
// link's latency), or the partition.
//
// A reader who comes back with a resume token (join.name) keeps its name
// when the room has it free, whichever node's share it came from; a
// collision that causes is resolved the same way.

// colorWords names the palette's hues, in palette order.
var colorWords = [len(palette)]string{
	"Red", "Orange", "Amber", "Lime", "Green", "Teal",
	"Cyan", "Blue", "Indigo", "Violet", "Plum", "Pink",
}

// animals are short, friendly and distinct at a glance.
var animals = [...]string{
	"Otter", "Fox", "Heron", "Lynx", "Panda", "Koala", "Badger", "Bison",
	"Crane", "Dingo", "Eagle", "Ferret", "Gecko", "Hare", "Ibis", "Jackal",
	"Kiwi", "Lemur", "Marten", "Newt", "Ocelot", "Puffin", "Quail", "Raven",
	"Seal", "Tapir", "Urchin", "Vole", "Walrus", "Yak", "Zebra", "Moose",
}

// allotment is this node's share of the palette and of the animals, from
// the node ids it knew at start: its colours are preferred among equally
// used ones, and its names use only its animals (and, with more nodes than
// animals, its suffix lane), so that the nodes known at start never pick
// one name even at the same moment or partitioned. A node that joined later
// may: see room.resolve.
type allotment struct {
	colors  []int // palette indexes, preferred
	animals []int // indexes into animals
	lane    int   // suffix residue: suffix s is ours when s % lanes == lane
	lanes   int
}

// allot works out this node's share from its id and its peers' ids. A single
// node gets every colour and animal.
func allot(node string, peers []Peer) allotment {
	ids := []string{node}
	for _, p := range peers {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	k, n := slices.Index(ids, node), len(ids)
	a := allotment{lanes: 1}
	for i := range palette {
		if i%n == k%len(palette) {
			a.colors = append(a.colors, i)
		}
	}
	if n > len(animals) {
		a.animals = []int{k % len(animals)}
		a.lane, a.lanes = k/len(animals), (n+len(animals)-1)/len(animals)
		return a
	}
	for j := range animals {
		if j%n == k {
			a.animals = append(a.animals, j)
		}
	}
	return a
}

// name is the display name for a colour, an animal and a suffix number (0:
// none; s shows as s+1, so the second Teal Otter is "Teal Otter 2").
func name(color, animal, suffix int) string {
	n := colorWords[color] + " " + animals[animal]
	if suffix > 0 {
		n += " " + strconv.Itoa(suffix+1)
	}
	return n
}

// pickIdentity chooses the colour (the least used in the post, ours first
// among equals) and a free name for a new reader. used says how many
// readers have each colour; taken holds every name in use in the room.
func (a allotment) pickIdentity(used *[len(palette)]int, taken map[string]bool) (color int, nm string) {
	color = a.colors[0]
	for i := range palette {
		if used[i] < used[color] || used[i] == used[color] && a.ours(i) && !a.ours(color) {
			color = i
		}
	}
	return color, a.freeName(color, taken)
}

// ours says whether colour i is in this node's share.
func (a allotment) ours(i int) bool { return slices.Contains(a.colors, i) }

// freeName is a name of colour, of our animals and lane, that taken does
// not hold.
func (a allotment) freeName(color int, taken map[string]bool) string {
	start := rand.IntN(len(a.animals)) // variety: not every post starts at "Red Otter"
	for suffix := a.lane; ; suffix += a.lanes {
		for j := range a.animals {
			if nm := name(color, a.animals[(start+j)%len(a.animals)], suffix); !taken[nm] {
				return nm
			}
		}
	}
}

// takeName and dropName keep r.names (every name in use) right while two
// readers hold one name, until one of them is renamed: r.shared counts the
// extra holders.
func (r *room) takeName(n string) {
	if n == "" {
		return
	}
	if !r.names[n] {
		r.names[n] = true
		return
	}
	if r.shared == nil {
		r.shared = make(map[string]int)
	}
	r.shared[n]++
}

func (r *room) dropName(n string) {
	if r.shared[n] > 0 {
		if r.shared[n]--; r.shared[n] == 0 {
			delete(r.shared, n)
		}
		return
	}
	delete(r.names, n)
}

// remoteRenamed takes the new name (or colour) another node gave its reader
// m after a collision, and tells ours.
func (r *room) remoteRenamed(c *actor.Context, m *member, rr remoteReader) {
	r.dropName(m.reader.Name)
	r.takeName(rr.Name)
	if m.color >= 0 {
		r.colorUse[m.color]--
	}
	if m.color = slices.Index(palette[:], rr.Color); m.color >= 0 {
		r.colorUse[m.color]++
	}
	m.reader.Name, m.reader.Color = rr.Name, rr.Color
	r.tellRenamed(c, m)
	r.resolve(c, rr.Reader)
}

// resolve settles a collision between a remote reader and one of ours
// under the same name: the smaller id keeps it, and the node of the other
// renames it. A hidden reader of ours, whom no other node sees, yields.
func (r *room) resolve(c *actor.Context, remote readtag.Reader) {
	if remote.Name == "" || r.shared[remote.Name] == 0 {
		return
	}
	for _, m := range r.members {
		if m.node == "" && m.reader.Name == remote.Name && (m.hidden || remote.ID < m.reader.ID) {
			r.rename(c, m)
			return
		}
	}
}

// rename gives our reader m a free name of its colour: a welcome again
// tells its own screen (the protocol's way to change what a client knows),
// a join with the new name our other readers and, through the tracker,
// the other nodes. Nobody sees a leave.
func (r *room) rename(c *actor.Context, m *member) {
	r.dropName(m.reader.Name)
	m.reader.Name = r.sys.names.freeName(m.color, r.names)
	r.takeName(m.reader.Name)
	var others []readtag.Reader
	if r.crowd.on {
		others = readers(m.seen)
	} else {
		for _, o := range r.members {
			if o != m && !o.hidden {
				others = append(others, o.reader)
			}
		}
	}
	r.welcome(c, m, others)
	r.tellRenamed(c, m)
	if r.tracker != nil && !m.hidden {
		c.Send(r.tracker, localJoin{post: r.slug, reader: m.reader})
	}
}

// tellRenamed sends m's new name to our readers who know m: in crowd mode
// those shown it; otherwise all, but for those whose join of m is still to
// go out at the tick (it carries the new name).
func (r *room) tellRenamed(c *actor.Context, m *member) {
	if m.hidden {
		return
	}
	later := slices.Contains(r.joining, m)
	for _, o := range r.members {
		if o.node != "" || o == m || later && o.seq < m.seq {
			continue
		}
		if r.crowd.on && !slices.ContainsFunc(o.seen, func(e seenEntry) bool { return e.m == m }) {
			continue
		}
		r.sendJoin(c, o, m.reader)
	}
}
