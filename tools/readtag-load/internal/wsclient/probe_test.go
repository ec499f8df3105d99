package wsclient

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// Probe sends the Origin header it is given, reports the status of a
// refused upgrade, and closes an accepted socket with a close frame.
func TestProbe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := make(chan byte, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if req.URL.Path != "/ws/embed" || req.Header.Get("Origin") != "http://a.test" {
					fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
					acceptFor(req.Header.Get("Sec-WebSocket-Key")))
				op, _, err := readClientFrame(br)
				if err == nil {
					closed <- op
				}
			}()
		}
	}()
	url := "http://" + ln.Addr().String()
	ctx := context.Background()
	if status, err := Probe(ctx, url, "/ws/embed?page=x", "http://a.test"); err != nil || status != 101 {
		t.Errorf("Probe with the right origin = %d, %v", status, err)
	}
	select {
	case op := <-closed:
		if op != opClose {
			t.Errorf("the probe sent opcode %#x, want a close", op)
		}
	case <-time.After(10 * time.Second):
		t.Error("the probe sent no close frame")
	}
	for _, origin := range []string{"http://b.test", ""} {
		if status, err := Probe(ctx, url, "/ws/embed?page=x", origin); err == nil || status != 403 {
			t.Errorf("Probe with origin %q = %d, %v; want 403", origin, status, err)
		}
	}
}
