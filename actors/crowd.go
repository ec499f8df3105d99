package actors

import (
	"slices"

	"github.com/anthdm/hollywood/actor"

	"github.com/readtag/readtag"
)

// Crowd mode keeps a hot post cheap: above Config.CrowdThreshold readers, a
// room stops telling everyone about everyone (N² messages and frames of
// unbounded size) and instead sends each of its readers, at most once a
// tick, one crowdMsg: the changes to the few readers that reader is shown
// (the CrowdVisible nearest to its own position, a quarter of them the
// latest movers) plus a density summary of the whole room. A frame then
// stays under 4 KiB whatever the room's size.

// bandCount is the number of density bands: 2 % of the article each.
const bandCount = 50

// recentShare is the share of a reader's visible set kept for the readers
// who moved last, wherever they are.
const recentShare = 4

// crowdMsg is one reader's crowd update for one tick.
type crowdMsg struct{ update readtag.Crowd }

func (m crowdMsg) traceInfo() (string, string, []any) {
	u := m.update
	return "", "", []any{"total", u.Total, "join", len(u.Join), "leave", len(u.Leave), "moves", len(u.Moves)}
}

// checkMode switches the room into crowd mode when it grows past the
// threshold and back when it shrinks well below it (no flapping), and
// welcomes every reader again so that each rebuilds its view.
func (r *room) checkMode(c *actor.Context) {
	n, t := len(r.members), r.sys.cfg.CrowdThreshold
	switch {
	case !r.crowd && n >= t:
		r.crowd = true
	case r.crowd && n < t*3/4:
		r.crowd = false
	default:
		return
	}
	r.pending = r.pending[:0]
	clear(r.index)
	var order []*member
	if r.crowd {
		order = r.byPosition()
	}
	r.order = order
	for _, m := range r.members {
		if m.node != "" {
			continue
		}
		others := make([]readtag.Reader, 0, min(len(r.members), r.sys.cfg.CrowdVisible))
		if r.crowd {
			m.seen = r.visible(order, m, nil)
			for id := range m.seen {
				others = append(others, r.members[id].reader)
			}
		} else {
			m.seen, m.spare = nil, nil
			for _, o := range r.members {
				if o != m && !o.hidden {
					others = append(others, o.reader)
				}
			}
		}
		c.Send(m.conn, welcome{you: m.reader, others: others, reader: m.pid})
	}
	r.dirty = r.crowd
}

// noteMover keeps the ids of the readers who moved last, newest first.
func (r *room) noteMover(id string) {
	k := max(1, r.sys.cfg.CrowdVisible/recentShare)
	if i := slices.Index(r.recent, id); i >= 0 {
		r.recent = slices.Delete(r.recent, i, i+1)
	}
	r.recent = slices.Insert(r.recent, 0, id)
	if len(r.recent) > k {
		r.recent = r.recent[:k]
	}
}

// byPosition is every member, sorted by position.
func (r *room) byPosition() []*member {
	order := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		order = append(order, m)
	}
	slices.SortFunc(order, func(a, b *member) int {
		switch {
		case a.reader.Position < b.reader.Position:
			return -1
		case a.reader.Position > b.reader.Position:
			return 1
		}
		return 0
	})
	return order
}

// visible is the set of readers m is shown, with their positions: the
// latest movers, then the nearest to m's own position. It fills into (which
// it clears), or a new map if into is nil.
func (r *room) visible(order []*member, m *member, into map[string]float64) map[string]float64 {
	k := r.sys.cfg.CrowdVisible
	out := into
	if out == nil {
		out = make(map[string]float64, k)
	}
	clear(out)
	for _, id := range r.recent {
		if o, ok := r.members[id]; ok && o != m && !o.hidden && len(out) < max(1, k/recentShare) {
			out[id] = o.reader.Position
		}
	}
	p := m.reader.Position
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
	for len(out) < k && (lo >= 0 || hi < len(order)) {
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
		if o != m && !o.hidden && r.members[o.reader.ID] == o { // order may be a tick old
			out[o.reader.ID] = o.reader.Position
		}
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

// crowdFlush sends every local reader what changed in its view this tick.
func (r *room) crowdFlush(c *actor.Context) {
	if !r.dirty {
		return
	}
	r.dirty = false
	order := r.byPosition()
	r.order = order
	b := bands(order)
	bandsChanged := !slices.Equal(b, r.lastBands)
	r.lastBands = b
	for _, m := range order {
		if m.node != "" {
			continue
		}
		// Two maps per reader, swapped each tick: no allocation for the view.
		vis := r.visible(order, m, m.spare)
		// Everyone shown, plus the reader itself when it is hidden.
		u := readtag.Crowd{Total: len(r.members) - r.hidden, Bands: b}
		if m.hidden {
			u.Total++
		}
		for id := range m.seen {
			if _, ok := vis[id]; !ok {
				u.Leave = append(u.Leave, id)
			}
		}
		for id, p := range vis {
			old, ok := m.seen[id]
			switch {
			case !ok:
				u.Join = append(u.Join, r.members[id].reader)
			case old != p:
				u.Moves = append(u.Moves, readtag.Move{ID: id, Position: p})
			}
		}
		m.seen, m.spare = vis, m.seen
		if bandsChanged || len(u.Leave)+len(u.Join)+len(u.Moves) > 0 {
			c.Send(m.conn, crowdMsg{update: u})
		}
	}
}
