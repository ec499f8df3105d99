package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramBucketsRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 4999, 5000, 1 << 20, histMax} {
		i := bucketOf(v)
		lo, w := bucketRange(i)
		if v < lo || v >= lo+w {
			t.Errorf("value %d in bucket %d = [%d, %d)", v, i, lo, lo+w)
		}
		if v < 128 && w != 1 {
			t.Errorf("value %d: bucket width %d, want exact below 128", v, w)
		}
		if float64(w) > float64(lo)/64+1 {
			t.Errorf("value %d: bucket width %d too wide for %d", v, w, lo)
		}
	}
	if bucketOf(histMax) != histBuckets-1 {
		t.Errorf("largest value lands in bucket %d of %d", bucketOf(histMax), histBuckets)
	}
	if bucketOf(-5) != 0 || bucketOf(math.MaxInt64) != histBuckets-1 {
		t.Error("out-of-range values are not clamped")
	}
}

func TestHistogramQuantilesExactForSmallValues(t *testing.T) {
	var h Histogram
	for v := int64(1); v <= 100; v++ {
		h.Record(v)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 50}, {0.95, 95}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%g) = %g, want %g", c.q, got, c.want)
		}
	}
	if h.Count() != 100 || h.Max() != 100 || h.Mean() != 50.5 {
		t.Errorf("count %d max %d mean %g", h.Count(), h.Max(), h.Mean())
	}
}

func TestHistogramQuantilesAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var vals []int64
	for range 20000 {
		// Log-uniform from 1 µs to ~10 s, as latencies spread.
		v := int64(math.Exp(r.Float64() * math.Log(1e7)))
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
		exact := float64(vals[int(math.Ceil(q*float64(len(vals))))-1])
		got := h.Quantile(q)
		if math.Abs(got-exact) > exact/64+1 {
			t.Errorf("Quantile(%g) = %g, exact %g: off by more than 1/64", q, got, exact)
		}
	}
	if h.Quantile(1) != float64(vals[len(vals)-1]) {
		t.Errorf("max %g, want %d", h.Quantile(1), vals[len(vals)-1])
	}
}

func TestHistogramEmptyAndMerge(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.99) != 0 || a.Mean() != 0 || a.Buckets() != nil {
		t.Error("empty histogram is not all zero")
	}
	a.Record(10)
	b.Record(3)
	b.Record(1000)
	a.Merge(&b)
	if a.Count() != 3 || a.Quantile(0) != 3 || a.Max() != 1000 {
		t.Errorf("merged: count %d min %g max %d", a.Count(), a.Quantile(0), a.Max())
	}
	var c Histogram
	c.Merge(&a)
	if c.Quantile(0.5) != 10 {
		t.Errorf("merge into empty: p50 %g", c.Quantile(0.5))
	}
}

func TestHistogramJSON(t *testing.T) {
	var h Histogram
	for _, v := range []int64{1, 2, 2, 500, 70000} {
		h.Record(v)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != h {
		t.Errorf("JSON round trip changed the histogram: %s", b)
	}
	if err := json.Unmarshal([]byte(`{"n":1,"b":[[999999,1]]}`), &back); err == nil {
		t.Error("accepted a bucket out of range")
	}
	bs := h.Buckets()
	if len(bs) != 4 || bs[1].Lo != 2 || bs[1].Count != 2 {
		t.Errorf("buckets %+v", bs)
	}
}

func TestStatsMerge(t *testing.T) {
	a := Stats{Welcomed: 2, DialErrors: map[string]int64{"timeout": 1}, Workers: 1}
	b := Stats{Welcomed: 3, DialErrors: map[string]int64{"timeout": 2, "HTTP 404": 1}, Closes: map[string]int64{"EOF": 1}, Workers: 1}
	b.Total.Errors = 4
	a.Merge(&b)
	if a.Welcomed != 5 || a.DialErrors["timeout"] != 3 || a.Workers != 2 {
		t.Errorf("merged %+v", a)
	}
	if got := a.ErrorCount(); got != 3+1+1+4 {
		t.Errorf("ErrorCount = %d", got)
	}
	c := a.Clone()
	c.DialErrors["timeout"] = 99
	if a.DialErrors["timeout"] != 3 {
		t.Error("clone shares its maps")
	}
}
