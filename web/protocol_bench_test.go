package web

import (
	"fmt"
	"runtime"
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
			buf := appendWelcome(nil, you, others)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = appendWelcome(buf[:0], you, others)
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

// BenchmarkEncodeCrowdTurn is one crowd turn of a 5,000-reader post as the
// writers see it: 500 readers' frames (a tick of ten turns), each with the
// moves of 24 visible readers (6 latest movers, the same for everyone, and
// 18 neighbours), ids allocated one by one between other allocations as
// the server's are, and the caches cold (evict: a 16 MB sweep between
// turns, untimed) as they are on a server that writes to 5,000 sockets.
// encoded=true is the room's way with actors.Config.EncodeMove: each mover
// encoded once a turn (timed here), the frames copying the bytes. ns/frame
// is the turn's time over its frames.
func BenchmarkEncodeCrowdTurn(b *testing.B) {
	const n, perTurn, recent, near = 5000, 500, 6, 18
	ids := make([]string, n)
	junk := make([][]byte, 0, 3*n)
	for i := range ids {
		ids[i] = newReaderID()
		junk = append(junk, make([]byte, 8), make([]byte, 24), make([]byte, 12))
	}
	pos := make([]float64, n)
	for i := range pos {
		pos[i] = float64((i*7919)%10001) / 10000
	}
	evict := make([]byte, 16<<20)
	for _, cold := range []bool{false, true} {
		for _, encoded := range []bool{false, true} {
			b.Run(fmt.Sprintf("cold=%v/encoded=%v", cold, encoded), func(b *testing.B) {
				buf := make([]byte, 0, 4096)
				first := 0
				var frames int
				encMark := make([]int, n)
				encOff := make([][2]int, n)
				turn := 0
				b.ReportAllocs()
				for b.Loop() {
					if cold {
						b.StopTimer()
						for i := 0; i < len(evict); i += 64 {
							evict[i]++
						}
						b.StartTimer()
					}
					turn++
					moves := make([]readtag.Move, 0, perTurn*(recent+near))
					var arena []byte
					for k := range perTurn {
						me := (first + k*(n/perTurn)) % n
						for j := range recent + near {
							o := j * 101 % n // the latest movers: the same for all
							if j >= recent {
								o = (me + j - recent + 1) % n
							}
							mv := readtag.Move{ID: ids[o], Position: pos[o]}
							if encoded {
								if encMark[o] != turn {
									encMark[o], encOff[o][0] = turn, len(arena)
									arena = EncodeMove(arena, mv)
									encOff[o][1] = len(arena)
								}
								mv.Encoded = arena[encOff[o][0]:encOff[o][1]:encOff[o][1]]
							}
							moves = append(moves, mv)
						}
					}
					for k := range perTurn {
						u := readtag.Crowd{Total: n, Moves: moves[k*(recent+near) : (k+1)*(recent+near)]}
						buf = appendCrowd(buf[:0], u)
						frames++
					}
					first++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
				runtime.KeepAlive(junk)
			})
		}
	}
}
