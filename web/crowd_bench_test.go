package web

import (
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/readtag/readtag"
)

// BenchmarkCrowdTurnWrite is one crowd turn of a 1,000-reader post as the
// server sends it: 250 readers' frames (a 50 ms tick of four turns), each
// listing 6 latest movers (the same for everyone) and 18 neighbours that
// moved, and for a few of them a leave and a join, each frame then written
// to a loopback TCP socket, as the writers do.
//
// where=writer encodes each frame just before its write (the writer's way
// before the room's turn encoded them): the write's kernel work between two
// frames leaves the next frame's strings cold. where=turn encodes the
// turn's frames one after the other first (outbox.Crowd, on the room's
// turn), then writes them. ns/frame is the whole turn's time per frame.
func BenchmarkCrowdTurnWrite(b *testing.B) {
	const n, perTurn, recent, near = 1000, 250, 6, 18
	readers := benchReaders(n)
	for i := range readers {
		readers[i].Name = fmt.Sprintf("%s Otter %d", []string{"Teal", "Red", "Amber"}[i%3], i)
	}
	ups := make([]readtag.Crowd, perTurn)
	bands := make([]int, 50)
	for k := range ups {
		me := k * (n / perTurn)
		u := readtag.Crowd{Total: n, Bands: bands}
		for j := range recent + near {
			o := j * 101 % n
			if j >= recent {
				o = (me + j - recent + 1) % n
			}
			u.Moves = append(u.Moves, readtag.Move{ID: readers[o].ID, Position: readers[o].Position})
		}
		if k%4 == 0 {
			u.Leave = []string{readers[(me+500)%n].ID}
			u.Join = []readtag.Reader{readers[(me+501)%n]}
		}
		ups[k] = u
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, where := range []string{"writer", "turn"} {
		b.Run("where="+where, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			frames := make([]*[]byte, perTurn)
			sent := 0
			b.ReportAllocs()
			for b.Loop() {
				if where == "turn" {
					for k := range ups {
						fp := crowdFrames.Get().(*[]byte)
						*fp = appendCrowd((*fp)[:0], ups[k])
						frames[k] = fp
					}
				}
				for k := range ups {
					out := buf
					if where == "turn" {
						out = *frames[k]
					} else {
						buf = appendCrowd(buf[:0], ups[k])
						out = buf
					}
					if _, err := conn.Write(out); err != nil {
						b.Fatal(err)
					}
					if where == "turn" {
						putFrame(frames[k])
					}
					sent++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent), "ns/frame")
		})
	}
}
