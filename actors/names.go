package actors

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// Every reader gets a colour and a short anonymous name made of that
// colour's word and an animal ("Teal Otter"), unique within the post, so
// that readers can tell each other apart and match a name to a tag.
//
// In a cluster, the rooms of one post on different nodes hand out names at
// the same time without asking each other. They cannot collide because the
// colours are split between the nodes: every node knows the sorted list of
// node ids (itself and its configured peers) and takes the colours whose
// index is its own place in that list modulo the node count. A name starts
// with its colour's word, so names of different nodes differ too. With more
// nodes than colours, nodes that share a colour are told apart by a number
// suffix from disjoint residues (lanes). Within a node, the room knows every
// name in use (its own readers' and the replicated ones) and picks a free
// one; when all animals of all its colours are taken it adds a number.

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

// allotment is the part of the colour and suffix space this node hands out.
type allotment struct {
	colors []int // palette indexes
	lane   int   // suffix residue: suffix s is ours when s % lanes == lane
	lanes  int
}

// allot works out this node's share from its id and its peers' ids. A single
// node gets every colour.
func allot(node string, peers []Peer) allotment {
	ids := []string{node}
	for _, p := range peers {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	k, n := slices.Index(ids, node), len(ids)
	if n > len(palette) {
		return allotment{colors: []int{k % len(palette)}, lane: k / len(palette), lanes: (n + len(palette) - 1) / len(palette)}
	}
	a := allotment{lanes: 1}
	for i := range palette {
		if i%n == k {
			a.colors = append(a.colors, i)
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

// pickIdentity chooses the colour (the least used of ours) and a free name
// for a new reader. used says how many readers have each colour; taken
// holds every name in use in the room.
func (a allotment) pickIdentity(used *[len(palette)]int, taken map[string]bool) (color int, nm string) {
	color = a.colors[0]
	for _, i := range a.colors {
		if used[i] < used[color] {
			color = i
		}
	}
	start := rand.IntN(len(animals)) // variety: not every post starts at "Red Otter"
	for suffix := a.lane; ; suffix += a.lanes {
		for j := range animals {
			if nm = name(color, (start+j)%len(animals), suffix); !taken[nm] {
				return color, nm
			}
		}
	}
}
