package web

import (
	"io"
	"log/slog"
	"net"
	"testing"
)

// stubConn is a connection that does nothing, so that the benchmark
// measures the listener's own work.
type stubConn struct{ net.Conn }

func (stubConn) Close() error { return nil }

// stubListener hands out a new stubConn per Accept.
type stubListener struct{ net.Listener }

func (stubListener) Accept() (net.Conn, error) { return &stubConn{}, nil }

// BenchmarkTrackedAcceptUpgrade is one WebSocket's life in the tracking
// listener, the accept loop's share of a join storm: accept (bookkeeping and
// the accept time), upgrade (leaving the HTTP count, the accept-to-upgrade
// histogram) and close.
func BenchmarkTrackedAcceptUpgrade(b *testing.B) {
	m := newMetrics(nil, nil)
	l := newTrackingListener(stubListener{}, 1000, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	release := func() {}
	b.ReportAllocs()
	for b.Loop() {
		c, err := l.Accept()
		if err != nil {
			b.Fatal(err)
		}
		tc := c.(*trackedConn)
		if !l.upgrade(tc, release) {
			b.Fatal("upgrade refused")
		}
		_ = tc.Close()
	}
}
