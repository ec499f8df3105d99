package web

import (
	"fmt"
	"testing"

	"github.com/readtag/readtag"
)

// The writer (ws.go) encodes every frame into one buffer that it takes from
// a pool for each run (buf = encode(buf[:0], ...)), so
// these benchmarks do the same: once the buffer has grown to the frame's
// size, allocs/op is what the hot path really allocates per frame.

// benchColors are a few of the room's hues; the encoder does not care which.
var benchColors = [...]string{"#e5484d", "#f76b15", "#d4a017", "#7cb518", "#30a46c", "#12a594"}

// benchReaders returns n readers with real-looking ids (13 base32
// characters) and four-decimal positions, as the room hands them out.
func benchReaders(n int) []readtag.Reader {
	rs := make([]readtag.Reader, n)
	for i := range rs {
		rs[i] = readtag.Reader{
			ID:       newReaderID(),
			Color:    benchColors[i%len(benchColors)],
			Position: float64((i*7919)%10001) / 10000,
		}
	}
	return rs
}

func BenchmarkEncodeWelcome(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("readers=%d", n), func(b *testing.B) {
			you := benchReaders(1)[0]
			you.Position = 0
			others := benchReaders(n)
			buf := appendWelcome(nil, you, others, "")
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = appendWelcome(buf[:0], you, others, "")
			}
		})
	}
}

// BenchmarkEncodeMoves encodes the shared moves slice of one tick for one of
// the room's readers: n other readers' moves plus the receiver's own, which
// appendMoves skips (the frame holds n entries).
func BenchmarkEncodeMoves(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("moves=%d", n), func(b *testing.B) {
			rs := benchReaders(n + 1)
			moves := make([]readtag.Move, len(rs))
			for i, r := range rs {
				moves[i] = readtag.Move{ID: r.ID, Position: r.Position}
			}
			skip := moves[len(moves)/2].ID // the receiver's own move, mid-slice
			buf, ok := appendMoves(nil, moves, skip)
			if !ok {
				b.Fatal("appendMoves wrote nothing")
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf, ok = appendMoves(buf[:0], moves, skip)
			}
			if !ok {
				b.Fatal("appendMoves wrote nothing")
			}
		})
	}
}

func BenchmarkEncodeJoin(b *testing.B) {
	r := benchReaders(1)[0]
	buf := appendJoin(nil, r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendJoin(buf[:0], r)
	}
}

func BenchmarkDecodeScroll(b *testing.B) {
	frame := []byte(`{"type":"scroll","position":0.4321}`)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := decodeScroll(frame)
		if err != nil || p != 0.4321 {
			b.Fatalf("decodeScroll = %v, %v", p, err)
		}
	}
}

// BenchmarkEncodeCrowd encodes one reader's crowd frame of a hot post's
// tick: 50 bands shared by every reader of the room, and a view whose six
// latest movers changed (6 leave, 6 join) while its 18 nearest moved.
func BenchmarkEncodeCrowd(b *testing.B) {
	rs := benchReaders(30)
	bands := make([]int, 50)
	for i := range bands {
		bands[i] = 80 + i*7%50
	}
	u := readtag.Crowd{Total: 5000, Bands: bands, Join: rs[:6]}
	for _, r := range rs[6:12] {
		u.Leave = append(u.Leave, r.ID)
	}
	for _, r := range rs[12:] {
		u.Moves = append(u.Moves, readtag.Move{ID: r.ID, Position: r.Position})
	}
	buf := appendCrowd(nil, u)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendCrowd(buf[:0], u)
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}
