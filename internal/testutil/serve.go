package testutil

import (
	"net"
	"testing"
)

// Serve runs serve on a listener on 127.0.0.1:0 until the test ends, then
// calls shutdown and fails tb if either returns an error. It returns the
// server's URL (http://127.0.0.1:port).
func Serve(tb testing.TB, serve func(net.Listener) error, shutdown func() error) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- serve(ln) }()
	tb.Cleanup(func() {
		if err := shutdown(); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
