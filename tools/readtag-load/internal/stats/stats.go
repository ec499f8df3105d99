package stats

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/bits"
)

// Histogram is a log-linear histogram in the manner of HdrHistogram: values
// below 128 have buckets of width 1 (exact), and every power of two above that
// is split into 64 buckets, so any recorded value is known to within 1/64
// (1.6 %). Latencies are recorded in milliseconds (exact up to 127 ms, which
// is where a healthy server lives) and join times in microseconds. It is a
// plain value: copying it copies the counts, and the zero value is empty.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    int64
	min    int64
	max    int64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	// histMaxBits bounds recorded values to 2^40-1 (12 days in µs); larger
	// ones are clamped, which no sane run reaches.
	histMaxBits = 40
	histBuckets = (histMaxBits - histSubBits + 1) * histSub
	histMax     = 1<<histMaxBits - 1
)

// bucketOf returns the bucket index of v (clamped to [0, histMax]).
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v > histMax {
		v = histMax
	}
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histSubBits - 1
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// bucketRange is the smallest value of bucket i and its width.
func bucketRange(i int) (lo, width int64) {
	if i < histSub {
		return int64(i), 1
	}
	shift := i/histSub - 1
	m := int64(i%histSub + histSub)
	return m << shift, 1 << shift
}

// Record adds one value.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += v
}

// Merge adds every value of o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value recorded (exact).
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact mean.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n)
}

// Quantile returns the value below or at which a fraction q of the values
// lie: the middle of the bucket holding the rank-th value, kept within the
// exact min and max, so it is exact for values below 128 and within 1/128
// above. Quantile(1) is the exact maximum; an empty histogram gives 0.
func (h *Histogram) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return float64(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := float64(lo) + float64(w-1)/2
			return math.Min(math.Max(v, float64(h.min)), float64(h.max))
		}
	}
	return float64(h.max)
}

// Bucket is one non-empty bucket: values in [Lo, Hi] were seen Count times.
type Bucket struct {
	Lo    int64  `json:"lo"`
	Hi    int64  `json:"hi"`
	Count uint64 `json:"count"`
}

// Buckets lists the non-empty buckets in ascending order (to draw a chart).
func (h *Histogram) Buckets() []Bucket {
	var out []Bucket
	for i, c := range h.counts {
		if c > 0 {
			lo, w := bucketRange(i)
			out = append(out, Bucket{Lo: lo, Hi: lo + w - 1, Count: c})
		}
	}
	return out
}

// histJSON is the sparse wire form used between worker processes: pairs of
// bucket index and count, so an idle histogram costs a few bytes.
type histJSON struct {
	N       uint64      `json:"n"`
	Sum     int64       `json:"sum"`
	Min     int64       `json:"min"`
	Max     int64       `json:"max"`
	Buckets [][2]uint64 `json:"b,omitempty"`
}

// MarshalJSON writes the sparse form.
func (h Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{N: h.n, Sum: h.sum, Min: h.min, Max: h.max}
	for i, c := range h.counts {
		if c > 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the sparse form.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = Histogram{n: j.N, sum: j.Sum, min: j.Min, max: j.Max}
	for _, p := range j.Buckets {
		if p[0] >= histBuckets {
			return fmt.Errorf("histogram bucket %d out of range", p[0])
		}
		h.counts[p[0]] += p[1]
	}
	return nil
}

// Flow counts the traffic the readers saw and made. Every count is of
// WebSocket messages and their payload bytes (frame headers not included).
type Flow struct {
	FramesRecv int64 `json:"frames_recv"`
	BytesRecv  int64 `json:"bytes_recv"`
	// Updates is the number of entries in all moves (and crowd) frames
	// received: one ghost moving on one screen.
	Updates    int64 `json:"updates"`
	FramesSent int64 `json:"frames_sent"`
	BytesSent  int64 `json:"bytes_sent"`

	Welcomes int64 `json:"welcomes"`
	Joins    int64 `json:"joins"`
	Leaves   int64 `json:"leaves"`
	Moves    int64 `json:"moves"`
	// Crowds are readtag's crowd frames (a crowded post shows each reader
	// only the readers nearest to it): their moves count as updates.
	Crowds int64 `json:"crowds"`
	// MaxCrowdBytes is the largest crowd frame's payload (protocol.md
	// promises under 4 KiB).
	MaxCrowdBytes int64 `json:"max_crowd_bytes"`
	Errors        int64 `json:"errors"`
	// Unknown frames are of a type protocol v1 does not define: ignored, as
	// the protocol asks, but counted.
	Unknown int64 `json:"unknown"`
	// Invalid frames could not be parsed as JSON objects.
	Invalid int64 `json:"invalid"`
	// OwnMoves counts moves entries about the receiving reader itself, which
	// the protocol says are never sent.
	OwnMoves int64 `json:"own_moves"`

	// Latency is scroll-to-ghost latency in ms, one value per moves entry
	// whose position carried a send time.
	Latency Histogram `json:"latency_ms"`
	// LatencySame and LatencyCross split Latency by whether the mover
	// joined the same target as the receiver (several --targets only, and
	// only movers this process knows).
	LatencySame  Histogram `json:"latency_same_node_ms"`
	LatencyCross Histogram `json:"latency_cross_node_ms"`
}

func (f *Flow) merge(o *Flow) {
	f.FramesRecv += o.FramesRecv
	f.BytesRecv += o.BytesRecv
	f.Updates += o.Updates
	f.FramesSent += o.FramesSent
	f.BytesSent += o.BytesSent
	f.Welcomes += o.Welcomes
	f.Joins += o.Joins
	f.Leaves += o.Leaves
	f.Moves += o.Moves
	f.Crowds += o.Crowds
	f.MaxCrowdBytes = max(f.MaxCrowdBytes, o.MaxCrowdBytes)
	f.Errors += o.Errors
	f.Unknown += o.Unknown
	f.Invalid += o.Invalid
	f.OwnMoves += o.OwnMoves
	f.Latency.Merge(&o.Latency)
	f.LatencySame.Merge(&o.LatencySame)
	f.LatencyCross.Merge(&o.LatencyCross)
}

// Stats is everything one worker (or all of them, merged) measured. Total
// covers the whole run; Window only the measured phase (after every reader
// has joined), which is what rates are computed from.
type Stats struct {
	Total  Flow `json:"total"`
	Window Flow `json:"window"`

	// Attempts is how many connections were started, Welcomed how many got
	// their welcome, Failed how many ended before it (dial errors included).
	Attempts int64 `json:"attempts"`
	Welcomed int64 `json:"welcomed"`
	Failed   int64 `json:"failed"`
	// Open is how many welcomed connections are open now.
	Open int64 `json:"open"`
	// Closed is how many connections the tool itself closed (normal ends).
	Closed int64 `json:"closed"`
	// Lost is how many welcomed connections ended without the tool closing
	// them: a close frame from the server or a dropped socket.
	Lost int64 `json:"lost"`

	// JoinTime is the time from dial start to the welcome frame, in µs.
	JoinTime Histogram `json:"join_us"`
	// The join's phases, in µs: ConnectTime from dial start to the TCP
	// connection being established, UpgradeTime from there to the 101
	// response, HandshakeTime both together (dial start to 101), and
	// WelcomeTime from the 101 to the welcome frame.
	ConnectTime   Histogram `json:"connect_us"`
	UpgradeTime   Histogram `json:"upgrade_us"`
	HandshakeTime Histogram `json:"handshake_us"`
	WelcomeTime   Histogram `json:"welcome_us"`

	// DialErrors, Closes and ErrorTexts count failures by kind: the class of
	// a failed dial, the reason an open connection ended unasked ("close
	// 1008: too slow: …", "EOF"), and the text of error frames.
	DialErrors map[string]int64 `json:"dial_errors,omitempty"`
	Closes     map[string]int64 `json:"closes,omitempty"`
	ErrorTexts map[string]int64 `json:"error_texts,omitempty"`

	// CPUTicks is the load generator's own CPU time (user+system, in clock
	// ticks), to tell when the tool rather than the server is the limit.
	CPUTicks int64 `json:"cpu_ticks"`
	// Workers is how many worker processes (or in-process engines) merged.
	Workers int `json:"workers"`
}

// Merge adds o to s.
func (s *Stats) Merge(o *Stats) {
	s.Total.merge(&o.Total)
	s.Window.merge(&o.Window)
	s.Attempts += o.Attempts
	s.Welcomed += o.Welcomed
	s.Failed += o.Failed
	s.Open += o.Open
	s.Closed += o.Closed
	s.Lost += o.Lost
	s.JoinTime.Merge(&o.JoinTime)
	s.ConnectTime.Merge(&o.ConnectTime)
	s.UpgradeTime.Merge(&o.UpgradeTime)
	s.HandshakeTime.Merge(&o.HandshakeTime)
	s.WelcomeTime.Merge(&o.WelcomeTime)
	s.DialErrors = mergeCounts(s.DialErrors, o.DialErrors)
	s.Closes = mergeCounts(s.Closes, o.Closes)
	s.ErrorTexts = mergeCounts(s.ErrorTexts, o.ErrorTexts)
	s.CPUTicks += o.CPUTicks
	s.Workers += o.Workers
}

func mergeCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]int64, len(src))
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// ErrorCount is every failure a reader would notice: connections that never
// opened or were lost, error frames, and frames it could not read.
func (s *Stats) ErrorCount() int64 {
	n := s.Total.Errors + s.Total.Invalid + s.Total.OwnMoves
	for _, v := range s.DialErrors {
		n += v
	}
	for _, v := range s.Closes {
		n += v
	}
	return n
}

// Clone returns a deep copy (maps included).
func (s *Stats) Clone() Stats {
	c := *s
	c.DialErrors = maps.Clone(s.DialErrors)
	c.Closes = maps.Clone(s.Closes)
	c.ErrorTexts = maps.Clone(s.ErrorTexts)
	return c
}
