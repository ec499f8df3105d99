package web

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadFrameIsReadAll checks readFrame against io.ReadAll: the same
// bytes and error for whole, piecemeal, empty and failing readers, whatever
// the buffer it starts from.
func TestReadFrameIsReadAll(t *testing.T) {
	boom := errors.New("boom")
	long := strings.Repeat("x", 5000)
	readers := map[string]func() io.Reader{
		"empty":     func() io.Reader { return strings.NewReader("") },
		"scroll":    func() io.Reader { return strings.NewReader(`{"type":"scroll","position":0.5}`) },
		"long":      func() io.Reader { return strings.NewReader(long) },
		"one byte":  func() io.Reader { return iotest.OneByteReader(strings.NewReader(long[:700])) },
		"data+EOF":  func() io.Reader { return iotest.DataErrReader(strings.NewReader(long[:600])) },
		"half+fail": func() io.Reader { return io.MultiReader(strings.NewReader(long[:300]), iotest.ErrReader(boom)) },
	}
	for name, mk := range readers {
		want, wantErr := io.ReadAll(mk())
		for _, buf := range [][]byte{nil, make([]byte, 0, 8), make([]byte, 3, 512), make([]byte, 0, 8192)} {
			got, err := readFrame(mk(), buf[:0])
			if !bytes.Equal(got, want) || !errors.Is(err, wantErr) && err != wantErr {
				t.Errorf("%s (cap %d): readFrame = %d bytes, %v; io.ReadAll %d bytes, %v", name, cap(buf), len(got), err, len(want), wantErr)
			}
		}
	}
}

// BenchmarkReadFrame reads one scroll frame as the read loop does (pooled
// buffer) and as ws.ReadMessage did (io.ReadAll).
func BenchmarkReadFrame(b *testing.B) {
	frame := []byte(`{"type":"scroll","position":0.4321}`)
	r := bytes.NewReader(frame)
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(frame)
			bp := frameBufs.Get().(*[]byte)
			*bp, _ = readFrame(r, (*bp)[:0])
			putFrameBuf(bp)
		}
	})
	b.Run("ReadAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(frame)
			_, _ = io.ReadAll(r)
		}
	})
}
