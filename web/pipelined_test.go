package web_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client may send its first frame in the same packet as the upgrade
// request, before the 101. fasthttp then hands the hijacked connection its
// buffered request reader, which it recycles when the upgrade handler
// returns; the server must still read that frame (and every later one)
// from the right place. Here the pipelined frame is a bad one, so the
// server's error frame proves it was read, and a scroll after it proves the
// socket still works.
func TestFrameSentWithTheUpgradeRequest(t *testing.T) {
	ts := startServer(t, nil)
	other := ts.dial(t, "alpha")
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitLimit))
	req := "GET /ws/posts/alpha HTTP/1.1\r\nHost: " + strings.TrimPrefix(ts.URL, "http://") + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write(append([]byte(req), clientFrame(`{"type":"nope"}`)...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	var sawWelcome, sawError bool
	for !(sawWelcome && sawError) {
		text := serverFrame(t, br)
		switch {
		case strings.Contains(text, `"type":"welcome"`):
			sawWelcome = true
		case strings.Contains(text, `"type":"error"`):
			sawError = true
		}
	}
	if _, err := c.Write(clientFrame(`{"type":"scroll","position":0.5}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other reader sees the pipelined client's scroll", func() bool {
		for _, g := range other.Ghosts() {
			if g.Position == 0.5 {
				return true
			}
		}
		return false
	})
}

// clientFrame is a masked text frame (clients must mask) with a short payload.
func clientFrame(payload string) []byte {
	mask := [4]byte{1, 2, 3, 4}
	f := []byte{0x81, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
	for i := range len(payload) {
		f = append(f, payload[i]^mask[i%4])
	}
	return f
}

// serverFrame reads one unmasked server frame and returns its payload as
// text (control frames included, as their payload).
func serverFrame(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var h [2]byte
	if _, err := br.Read(h[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := br.Read(h[1:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := readFull(br, l[:]); err != nil {
			t.Fatal(err)
		}
		n = int(l[0])<<8 | int(l[1])
	case 127:
		t.Fatal("unexpectedly large frame")
	}
	p := make([]byte, n)
	if _, err := readFull(br, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}

func readFull(br *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := br.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
