package wsclient

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// serverFrame is a frame as a server sends it: unmasked.
func serverFrame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(p); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

type got struct {
	op byte
	p  string
}

// decodeAll feeds stream to a fresh decoder in the given chunks.
func decodeAll(stream []byte, cuts []int, limit int) ([]got, error) {
	d := decoder{limit: limit}
	var out []got
	fn := func(op byte, p []byte) error {
		out = append(out, got{op, string(p)})
		return nil
	}
	prev := 0
	for _, c := range append(cuts, len(stream)) {
		if err := d.decode(stream[prev:c], fn); err != nil {
			return out, err
		}
		prev = c
	}
	return out, nil
}

// A stream of every kind of frame decodes the same however it is split
// into reads: at every single byte, and in random chunks.
func TestDecoderSplitsAnywhere(t *testing.T) {
	big := strings.Repeat("x", 70000)
	mid := strings.Repeat("y", 300)
	var s []byte
	s = append(s, serverFrame(true, opText, []byte(`{"type":"welcome"}`))...)
	s = append(s, serverFrame(true, opText, nil)...)
	s = append(s, serverFrame(true, opText, []byte(mid))...)
	s = append(s, serverFrame(false, opText, []byte("frag-1 "))...)
	s = append(s, serverFrame(true, opPing, []byte("p"))...) // a control frame between fragments
	s = append(s, serverFrame(false, opContinuation, []byte("frag-2 "))...)
	s = append(s, serverFrame(true, opContinuation, []byte("frag-3"))...)
	s = append(s, serverFrame(true, opBinary, []byte{0, 1, 2})...)
	s = append(s, serverFrame(true, opPong, nil)...)
	s = append(s, serverFrame(true, opText, []byte(big))...)
	s = append(s, serverFrame(true, opClose, closePayload(1001, "bye"))...)
	want := []got{
		{opText, `{"type":"welcome"}`}, {opText, ""}, {opText, mid}, {opPing, "p"},
		{opText, "frag-1 frag-2 frag-3"}, {opBinary, "\x00\x01\x02"}, {opPong, ""},
		{opText, big}, {opClose, string(closePayload(1001, "bye"))},
	}
	check := func(name string, cuts []int) {
		t.Helper()
		out, err := decodeAll(s, cuts, maxFrame)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(out) != len(want) {
			t.Fatalf("%s: %d messages, want %d", name, len(out), len(want))
		}
		for i := range want {
			if out[i] != want[i] {
				t.Fatalf("%s: message %d: op %#x %.40q, want op %#x %.40q", name, i, out[i].op, out[i].p, want[i].op, want[i].p)
			}
		}
	}
	check("whole", nil)
	// Every split point of the frames before the big one, one at a time.
	headLen := len(s) - len(serverFrame(true, opText, []byte(big))) - len(serverFrame(true, opClose, closePayload(1001, "bye")))
	for i := 1; i < headLen; i++ {
		check(fmt.Sprintf("cut at %d", i), []int{i})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		var cuts []int
		for c := r.IntN(300); c < len(s); c += 1 + r.IntN(5000) {
			cuts = append(cuts, c)
		}
		check(fmt.Sprintf("random cuts %v", cuts[:min(len(cuts), 5)]), cuts)
	}
}

// Frames no server may send end the connection with a clear error, and
// never make the decoder wait for (or buffer) more than the limit.
func TestDecoderRejectsHostileFrames(t *testing.T) {
	long := serverFrame(true, opText, []byte(strings.Repeat("z", 200)))
	for _, tc := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"reserved bits", []byte{0x80 | 0x40 | opText, 0}, "reserved bits"},
		{"masked", []byte{0x80 | opText, 0x80 | 1, 1, 2, 3, 4, 'a'}, "masked frame"},
		{"fragmented ping", []byte{opPing, 0}, "control frame"},
		{"long close", append([]byte{0x80 | opClose, 126, 0, 126}, make([]byte, 126)...), "control frame"},
		{"unknown opcode", []byte{0x80 | 0x3, 0}, "unknown opcode"},
		{"continuation first", []byte{0x80 | opContinuation, 0}, "continuation without"},
		{"message inside a fragmented one", append(serverFrame(false, opText, []byte("a")), serverFrame(true, opText, []byte("b"))...), "inside a fragmented"},
		{"length top bit", []byte{0x80 | opText, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, "top bit"},
		{"declared over the limit", []byte{0x80 | opText, 127, 0, 0, 0, 0, 0x7f, 0, 0, 0}, errReadLimit.Error()},
		{"over the limit", long, errReadLimit.Error()},
		{"fragments over the limit", append(serverFrame(false, opText, make([]byte, 100)), serverFrame(true, opContinuation, make([]byte, 100))...), errReadLimit.Error()},
		{"one-byte close", []byte{0x80 | opClose, 1, 3}, "one byte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decoder{limit: 150}
			err := d.decode(tc.stream, func(op byte, p []byte) error {
				if op == opClose {
					_, err := parseClose(p)
					return err
				}
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one with %q", err, tc.want)
			}
			if cap(d.rest) > 256 {
				t.Errorf("the decoder kept %d bytes", cap(d.rest))
			}
		})
	}
}

// unmask reads one client frame: a server's view of what the tool sends.
func unmask(t *testing.T, b []byte) (op byte, p []byte) {
	t.Helper()
	if b[0]&0x80 == 0 || b[1]&0x80 == 0 {
		t.Fatalf("frame %x: want FIN and MASK set", b[:2])
	}
	n, h := int(b[1]&0x7f), 2
	switch n {
	case 126:
		n, h = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		n, h = int(binary.BigEndian.Uint64(b[2:])), 10
	}
	key := b[h : h+4]
	p = bytes.Clone(b[h+4:])
	if len(p) != n {
		t.Fatalf("payload %d bytes, header says %d", len(p), n)
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
	return b[0] & 0x0f, p
}

func TestAppendFrameMasksEveryLength(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		b := appendFrame([]byte("prefix"), opText, p)
		if string(b[:6]) != "prefix" {
			t.Fatal("appendFrame overwrote what was before it")
		}
		op, q := unmask(t, b[6:])
		if op != opText || !bytes.Equal(p, q) {
			t.Errorf("length %d: op %#x, payload equal %v", n, op, bytes.Equal(p, q))
		}
	}
}

func acceptFor(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestCheckUpgrade(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptFor(key)
	if err := checkUpgrade([]byte(good), key); err != nil {
		t.Fatalf("a good answer: %v", err)
	}
	if err := checkUpgrade([]byte(strings.ToLower(strings.Replace(good, "Upgrade: websocket", "UPGRADE:   WebSocket", 1))), key); err == nil {
		// Lower-casing the whole answer also lower-cases the accept key.
		t.Error("a wrong accept key was taken")
	}
	for _, tc := range []struct {
		name, head, want string
	}{
		{"503", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1", "HTTP 503"},
		{"429", "HTTP/1.1 429 Too Many Requests", "HTTP 429"},
		{"no accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket", "bad handshake"},
		{"wrong accept", "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: AAAA", "bad handshake"},
		{"no upgrade", "HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: " + acceptFor(key), "bad handshake"},
		{"an extension", good + "\r\nSec-WebSocket-Extensions: permessage-deflate", "bad handshake"},
		{"not HTTP", "SSH-2.0-OpenSSH_9.6", "bad handshake"},
		{"short status", "HTTP/1.1 10", "bad handshake"},
		{"status not a number", "HTTP/1.1 1x1 Hi", "bad handshake"},
		{"header without a colon", "HTTP/1.1 101 OK\r\nnonsense", "bad handshake"},
		{"empty", "", "bad handshake"},
	} {
		err := checkUpgrade([]byte(tc.head), key)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// rawServer accepts connections on 127.0.0.1:0 and runs script on each
// after a correct 101 (or, with upgrade false, right after the request).
func rawServer(t *testing.T, upgrade bool, script func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if upgrade {
					fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
						acceptFor(req.Header.Get("Sec-WebSocket-Key")))
				}
				script(c, br)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// readClientFrame reads one masked frame from the tool.
func readClientFrame(br *bufio.Reader) (op byte, p []byte, err error) {
	h := make([]byte, 2)
	if _, err := io.ReadFull(br, h); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		return 0, nil, errors.New("unexpectedly long client frame")
	}
	if h[1]&0x80 == 0 {
		return 0, nil, errors.New("client frame not masked")
	}
	var key [4]byte
	if _, err := io.ReadFull(br, key[:]); err != nil {
		return 0, nil, err
	}
	p = make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return 0, nil, err
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
	return h[0] & 0x0f, p, nil
}

func TestUpgradeReturnsFramesSentWithThe101(t *testing.T) {
	welcome := serverFrame(true, opText, []byte(`{"type":"welcome","you":{"id":"a"},"readers":[]}`))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		out := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			acceptFor(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n" + string(welcome)
		_, _ = c.Write([]byte(out))
		_, _ = io.Copy(io.Discard, c)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, rest, _, err := dial(ctx, newDialer(nil), "http://"+ln.Addr().String(), "/ws/posts/x", "")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// One write on loopback arrives in one read.
	if !bytes.Equal(rest, welcome) {
		t.Errorf("rest %q, want the welcome frame", rest)
	}
}

func TestDialAgainstHostileServers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		script func(c net.Conn, br *bufio.Reader)
		want   string
	}{
		{"503", func(c net.Conn, _ *bufio.Reader) {
			_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
		}, "HTTP 503"},
		{"endless headers", func(c net.Conn, _ *bufio.Reader) {
			_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\n"))
			for range 1000 {
				if _, err := c.Write([]byte("X-Filler: " + strings.Repeat("f", 100) + "\r\n")); err != nil {
					return
				}
			}
		}, "bad handshake"},
		{"closes at once", func(c net.Conn, _ *bufio.Reader) {}, "EOF"},
		{"says nothing", func(c net.Conn, br *bufio.Reader) {
			_, _ = br.ReadByte() // until the client gives up
		}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := rawServer(t, false, tc.script)
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			nc, _, _, err := dial(ctx, newDialer(nil), url, "/ws/posts/x", "")
			if err == nil {
				nc.Close()
				t.Fatal("dial succeeded")
			}
			if got := dialClass(err); !strings.Contains(got, tc.want) && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("dial error %v (class %q), want %q", err, got, tc.want)
			}
		})
	}
}

// runOne runs an engine with one reader against url until the reader ends
// or the deadline passes, and returns its stats.
// polled false reads it with a goroutine (netSock) instead of an epoll loop.
func runOne(t *testing.T, url string, welcome time.Duration, polled bool) stats.Stats {
	t.Helper()
	e := New(Plan{Workers: 1, Conns: 1, Start: time.Now(), Targets: []string{url}, Slugs: []string{"x"},
		Deadline: time.Now().Add(60 * time.Second)})
	if !polled {
		stopPollers(e.pollers)
		e.pollers = nil
	}
	e.welcomeTimeout = welcome
	e.Start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := e.Snapshot()
		if s.Failed+s.Lost+s.Closed > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e.Stop()
}

// The tool's reader copes with what a server may send (pings between the
// fragments of a welcome, a close with a code) and reports what it may not.
func TestReaderAgainstHostileServers(t *testing.T) {
	t.Parallel()
	welcome := []byte(`{"type":"welcome","you":{"id":"me","color":"#000000","position":0},"readers":[]}`)
	pongs := make(chan string, 2)
	for _, tc := range []struct {
		name   string
		script func(c net.Conn, br *bufio.Reader)
		lost   string // the close reason counted
		failed string // for a reader never welcomed
	}{
		{"fragmented welcome, ping, then a close", func(c net.Conn, br *bufio.Reader) {
			_, _ = c.Write(serverFrame(false, opText, welcome[:10]))
			_, _ = c.Write(serverFrame(true, opPing, []byte("are you there")))
			_, _ = c.Write(serverFrame(true, opContinuation, welcome[10:]))
			op, p, err := readClientFrame(br)
			if err == nil && op == opPong {
				select {
				case pongs <- string(p):
				default:
				}
			}
			_, _ = c.Write(serverFrame(true, opClose, closePayload(1011, "internal error")))
			_, _, _ = readClientFrame(br) // the tool's answer
		}, "close 1011: internal error", ""},
		{"garbage after the welcome", func(c net.Conn, br *bufio.Reader) {
			_, _ = c.Write(serverFrame(true, opText, welcome))
			_, _ = c.Write([]byte{0xff, 0xff, 0xff})
			_, _ = io.Copy(io.Discard, br)
		}, "read: bad frame: reserved bits set (no extension was negotiated)", ""},
		{"dropped after the welcome", func(c net.Conn, br *bufio.Reader) {
			_, _ = c.Write(serverFrame(true, opText, welcome))
		}, "dropped without a close frame", ""},
		{"no welcome", func(c net.Conn, br *bufio.Reader) {
			_, _ = io.Copy(io.Discard, br)
		}, "", "no welcome within"},
		{"a frame over the limit", func(c net.Conn, br *bufio.Reader) {
			_, _ = c.Write([]byte{0x80 | opText, 127, 0, 0, 0, 0, 0x7f, 0, 0, 0})
			_, _ = io.Copy(io.Discard, br)
		}, "", errReadLimit.Error()},
	} {
		for _, polled := range []bool{true, false} {
			name := tc.name + "/epoll"
			if !polled {
				name = tc.name + "/goroutine"
			}
			t.Run(name, func(t *testing.T) {
				url := rawServer(t, true, tc.script)
				// Only the case that waits for the welcome's deadline gets a
				// short one: the others must not hit it on a loaded machine.
				welcome := 20 * time.Second
				if tc.failed == "no welcome within" {
					welcome = 500 * time.Millisecond
				}
				s := runOne(t, url, welcome, polled)
				want, n := tc.lost, s.Lost
				if tc.failed != "" {
					want, n = tc.failed, s.Failed
				}
				if n != 1 {
					t.Fatalf("lost %d, failed %d, closed %d; closes %v", s.Lost, s.Failed, s.Closed, s.Closes)
				}
				found := false
				for reason := range s.Closes {
					found = found || strings.Contains(reason, want)
				}
				if !found {
					t.Errorf("closes %v, want one with %q", s.Closes, want)
				}
			})
		}
	}
	// One pong from each way of reading.
	for range 2 {
		select {
		case p := <-pongs:
			if p != "are you there" {
				t.Errorf("pong %q, want the ping's payload", p)
			}
		default:
			t.Error("a ping went unanswered")
		}
	}
}

// FuzzDecoder: any bytes, split anywhere, decode without a panic, and the
// same way as when they arrive whole.
func FuzzDecoder(f *testing.F) {
	f.Add(serverFrame(true, opText, []byte(`{"type":"welcome"}`)), uint16(3))
	f.Add(append(serverFrame(false, opText, []byte("ab")), serverFrame(true, opContinuation, []byte("cd"))...), uint16(1))
	f.Add([]byte{0x80 | opText, 126, 0, 200}, uint16(2))
	f.Add([]byte{0x80 | opClose, 2, 3, 232}, uint16(0))
	f.Fuzz(func(t *testing.T, stream []byte, step uint16) {
		whole, werr := decodeAll(stream, nil, 1<<16)
		var cuts []int
		if step > 0 {
			for c := int(step); c < len(stream); c += int(step) {
				cuts = append(cuts, c)
			}
		}
		split, serr := decodeAll(stream, cuts, 1<<16)
		if (werr == nil) != (serr == nil) {
			// A stream cut short may stop earlier only by an error found
			// in a later frame: both must agree on whether one exists.
			t.Fatalf("whole: %v, split every %d: %v", werr, step, serr)
		}
		if len(whole) != len(split) {
			t.Fatalf("whole: %d messages, split: %d", len(whole), len(split))
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("message %d differs", i)
			}
		}
	})
}

// An https target: the tool upgrades over TLS, reads with a goroutine
// (TLS cannot be read from the epoll loop), gets its welcome, and closes
// cleanly when stopped.
func TestHTTPSTarget(t *testing.T) {
	welcome := []byte(`{"type":"welcome","you":{"id":"me","color":"#000000","position":0},"readers":[]}`)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			acceptFor(r.Header.Get("Sec-WebSocket-Key")))
		_, _ = brw.Write(serverFrame(true, opText, welcome))
		_ = brw.Flush()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		for {
			op, p, err := readClientFrame(brw.Reader)
			if err != nil {
				return
			}
			if op == opClose {
				_, _ = brw.Write(serverFrame(true, opClose, p))
				_ = brw.Flush()
				return
			}
		}
	}))
	defer ts.Close()
	tlsRoots = ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	t.Cleanup(func() { tlsRoots = nil })

	e := New(Plan{Workers: 1, Conns: 1, Start: time.Now(), Targets: []string{ts.URL}, Slugs: []string{"x"},
		Deadline: time.Now().Add(60 * time.Second)})
	e.Start()
	deadline := time.Now().Add(30 * time.Second)
	for e.Snapshot().Welcomed == 0 && e.Snapshot().Failed == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := e.Stop()
	if s.Welcomed != 1 || s.Closed != 1 || s.Failed+s.Lost != 0 {
		t.Fatalf("welcomed %d, closed %d, failed %d, lost %d: dial errors %v, closes %v",
			s.Welcomed, s.Closed, s.Failed, s.Lost, s.DialErrors, s.Closes)
	}
}
