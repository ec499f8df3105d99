package scenario

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

// Placements of a Zipf run's readers on its targets.
const (
	// PlaceRandom puts each reader on a target drawn at random, as a
	// round-robin load balancer does to readers arriving in no order.
	PlaceRandom = "random"
	// PlacePost puts every reader of a post on one target chosen by a hash
	// of the post's path, as a load balancer hashing the URI does.
	PlacePost = "post"
)

// zipfCounts splits readers over posts by Zipf's law with exponent s: the
// post of rank k (from 1) gets a share proportional to 1/k^s, every post
// at least one reader (readers ≥ posts), rounded so that they add up to
// readers (largest remainders first).
func zipfCounts(readers, posts int, s float64) []int {
	w := make([]float64, posts)
	var sum float64
	for k := range w {
		w[k] = math.Pow(float64(k+1), -s)
		sum += w[k]
	}
	// Each post's one guaranteed reader comes first; the rest by weight.
	rest := readers - posts
	counts := make([]int, posts)
	frac := make([]float64, posts)
	given := 0
	for k := range w {
		x := float64(rest) * w[k] / sum
		counts[k] = 1 + int(x)
		frac[k] = x - math.Floor(x)
		given += int(x)
	}
	for left := rest - given; left > 0; left-- {
		best := 0
		for k := range frac {
			if frac[k] > frac[best] {
				best = k
			}
		}
		counts[best]++
		frac[best] = -1
	}
	return counts
}

// zipfSeats places readers over slugs (in rank order) by zipfCounts, and on
// targets by place. The readers of all posts are interleaved in an order
// drawn from seed, so that every post fills during the whole ramp, and
// the same seed gives the same run.
func zipfSeats(readers int, slugs []string, s float64, targets int, place string, seed uint64) []wsclient.Seat {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	counts := zipfCounts(readers, len(slugs), s)
	seats := make([]wsclient.Seat, 0, readers)
	for p, n := range counts {
		home := int32(postTarget(slugs[p], targets))
		for range n {
			t := home
			if place == PlaceRandom {
				t = int32(rng.IntN(targets))
			}
			seats = append(seats, wsclient.Seat{Post: int32(p), Target: t})
		}
	}
	rng.Shuffle(len(seats), func(i, j int) { seats[i], seats[j] = seats[j], seats[i] })
	return seats
}

// postTarget is the target of every reader of slug when readers are placed
// by post: FNV-1a of the post's path modulo the targets. nginx's `hash
// $request_uri consistent` spreads paths with another function over a ring,
// so it sends a given post elsewhere, but alike: each post to one node,
// the posts spread evenly over the nodes.
func postTarget(slug string, targets int) int {
	h := fnv.New32a()
	h.Write([]byte("/posts/" + slug))
	return int(h.Sum32() % uint32(targets))
}

// placement counts a run's readers per post (in slugs' order) per target.
func placement(seats []wsclient.Seat, posts, targets int) [][]int {
	m := make([][]int, posts)
	for p := range m {
		m[p] = make([]int, targets)
	}
	for _, st := range seats {
		m[st.Post][st.Target]++
	}
	return m
}

// zipfSeed draws every Zipf run's placement and order: runs against two
// builds place the same readers alike.
const zipfSeed = 23

// zipfPlan picks a Zipf run's posts (in rank order: load-0001 is the most
// read) and places its readers.
func (r *runner) zipfPlan(ctx context.Context, targets []string) ([]string, []wsclient.Seat, error) {
	o := r.o
	slugs, err := r.pickSlugs(ctx)
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(slugs)
	if len(slugs) > o.Readers {
		return nil, nil, fmt.Errorf("--zipf gives every post a reader: %d posts need at least as many --readers, not %d",
			len(slugs), o.Readers)
	}
	return slugs, zipfSeats(o.Readers, slugs, o.Zipf, len(targets), o.Place, zipfSeed), nil
}
