package scenario

import (
	"fmt"
	"testing"
)

// The capacity run's popularity curve: 8,000 readers over 1,000 posts with
// exponent 1 give a few posts hundreds of readers and most one to three.
func TestZipfCounts(t *testing.T) {
	counts := zipfCounts(8000, 1000, 1)
	sum, small, hundreds := 0, 0, 0
	for k, n := range counts {
		sum += n
		if n < 1 {
			t.Fatalf("post %d has %d readers", k, n)
		}
		if k > 0 && n > counts[k-1] {
			t.Errorf("post %d has %d readers, more than post %d's %d", k, n, k-1, counts[k-1])
		}
		if n <= 3 {
			small++
		}
		if n >= 100 {
			hundreds++
		}
	}
	if sum != 8000 {
		t.Errorf("%d readers placed, want 8000", sum)
	}
	if hundreds < 3 || hundreds > 20 || small < 500 {
		t.Errorf("%d posts with 100 readers or more, %d with at most 3: not a long tail (top %v)", hundreds, small, counts[:10])
	}
	t.Logf("top %v; %d posts with ≥ 100 readers, %d with ≤ 3", counts[:10], hundreds, small)
}

// By post, every reader of a post is on one target; at random, a post
// with many readers is on every target. Both place every reader, the same
// way every time.
func TestZipfSeats(t *testing.T) {
	slugs := make([]string, 100)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("load-%04d", i+1)
	}
	for _, place := range []string{PlaceRandom, PlacePost} {
		t.Run(place, func(t *testing.T) {
			seats := zipfSeats(1000, slugs, 1, 4, place, zipfSeed)
			if len(seats) != 1000 {
				t.Fatalf("%d seats, want 1000", len(seats))
			}
			again := zipfSeats(1000, slugs, 1, 4, place, zipfSeed)
			for i := range seats {
				if seats[i] != again[i] {
					t.Fatalf("seat %d: %v, then %v: the same seed placed readers differently", i, seats[i], again[i])
				}
			}
			m := placement(seats, len(slugs), 4)
			perTarget := make([]int, 4)
			for p, row := range m {
				on := 0
				for tg, n := range row {
					perTarget[tg] += n
					if n > 0 {
						on++
					}
				}
				switch {
				case place == PlacePost && on != 1:
					t.Errorf("%s is on %d targets (%v), want one", slugs[p], on, row)
				case place == PlaceRandom && p == 0 && on != 4:
					t.Errorf("the most read post is on %d targets (%v), want all 4", on, row)
				}
			}
			for tg, n := range perTarget {
				if n == 0 {
					t.Errorf("target %d has no reader (%v)", tg, perTarget)
				}
			}
		})
	}
}
