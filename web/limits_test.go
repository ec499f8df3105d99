package web_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
	"github.com/readtag/readtag/web/client"
)

// upgrade opens a WebSocket to slug with extra headers and returns the
// connection or the refusal's status and Retry-After.
func (ts *testServer) upgrade(t *testing.T, slug string, header ...string) (*websocket.Conn, int, string) {
	t.Helper()
	return ts.upgradeTo(t, "/ws/posts/"+slug, header...)
}

// upgradeTo is upgrade for any WebSocket path.
func (ts *testServer) upgradeTo(t *testing.T, path string, header ...string) (*websocket.Conn, int, string) {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Add(header[i], header[i+1])
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+path, h)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode, resp.Header.Get("Retry-After")
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws, http.StatusSwitchingProtocols, ""
}

func TestMaxReaders(t *testing.T) {
	ts := startServer(t, func(c *web.Config, _ *actors.Config) { c.MaxReaders = 2 })
	a, _, _ := ts.upgrade(t, "alpha")
	ts.upgrade(t, "beta")
	if _, status, after := ts.upgrade(t, "alpha"); status != http.StatusServiceUnavailable || after != "10" {
		t.Fatalf("third reader: status %d, Retry-After %q; want 503 and 10", status, after)
	}
	// A refused upgrade holds nothing, and a reader that leaves frees its place.
	_ = a.Close()
	eventually(t, "a place to free up", func() bool {
		ws, status, _ := ts.upgrade(t, "alpha")
		if ws != nil {
			_ = ws.Close()
		}
		return status == http.StatusSwitchingProtocols
	})
	if _, body := ts.get(t, "/metrics"); !strings.Contains(body, `readtag_refused_total{why="max_readers"}`) {
		t.Errorf("metrics do not count the refusal")
	}
}

func TestMaxReadersPerIPBehindProxy(t *testing.T) {
	ts := startServer(t, func(c *web.Config, _ *actors.Config) {
		c.MaxReadersPerIP = 1
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	xff := "X-Forwarded-For"
	if _, status, _ := ts.upgrade(t, "alpha", xff, "198.51.100.1, 203.0.113.7"); status != http.StatusSwitchingProtocols {
		t.Fatalf("first reader from 203.0.113.7: %d", status)
	}
	// The client controls everything left of the rightmost untrusted hop:
	// claiming another origin there does not escape the cap.
	_, status, after := ts.upgrade(t, "beta", xff, "192.0.2.9, 203.0.113.7")
	if status != http.StatusTooManyRequests || after != "10" {
		t.Fatalf("second reader from 203.0.113.7: %d, Retry-After %q; want 429 and 10", status, after)
	}
	// Two headers are one list; a trusted hop on the right is skipped.
	if _, status, _ := ts.upgrade(t, "alpha", xff, "203.0.113.7", xff, "127.0.0.9"); status != http.StatusTooManyRequests {
		t.Errorf("203.0.113.7 behind two proxies: %d, want 429", status)
	}
	if _, status, _ := ts.upgrade(t, "alpha", xff, "203.0.113.8:4711"); status != http.StatusSwitchingProtocols {
		t.Errorf("another address: %d", status)
	}
	// The proxy itself (no header): loopback, not held to the per-address cap.
	for range 3 {
		if _, status, _ := ts.upgrade(t, "alpha"); status != http.StatusSwitchingProtocols {
			t.Errorf("reader without X-Forwarded-For: %d", status)
		}
	}
}

// TestMaxReadersPerIPv6Prefix: IPv6 clients are capped by prefix (a /64 by
// default), since anyone with IPv6 has a /64 of addresses to spread over.
func TestMaxReadersPerIPv6Prefix(t *testing.T) {
	start := func(t *testing.T, bits int) *testServer {
		return startServer(t, func(c *web.Config, _ *actors.Config) {
			c.MaxReadersPerIP = 3
			c.IPv6Prefix = bits
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
	}
	from := func(t *testing.T, ts *testServer, addr string, want int) {
		t.Helper()
		if _, status, _ := ts.upgrade(t, "alpha", "X-Forwarded-For", addr); status != want {
			t.Errorf("reader from %s: %d, want %d", addr, status, want)
		}
	}
	t.Run("64", func(t *testing.T) {
		ts := start(t, 0)
		for _, a := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:443"} {
			from(t, ts, a, http.StatusSwitchingProtocols)
		}
		from(t, ts, "2001:db8:1:2:abcd::9", http.StatusTooManyRequests) // a fourth address of the /64
		from(t, ts, "2001:db8:1:3::1", http.StatusSwitchingProtocols)   // the next /64 is another client
		// IPv4 counts by address, and an IPv4-mapped IPv6 address is that IPv4 address.
		from(t, ts, "203.0.113.7", http.StatusSwitchingProtocols)
		from(t, ts, "::ffff:203.0.113.7", http.StatusSwitchingProtocols)
		from(t, ts, "203.0.113.7", http.StatusSwitchingProtocols)
		from(t, ts, "::ffff:203.0.113.7", http.StatusTooManyRequests)
		from(t, ts, "203.0.113.8", http.StatusSwitchingProtocols)
	})
	t.Run("56", func(t *testing.T) {
		ts := start(t, 56)
		for _, a := range []string{"2001:db8:1:200::1", "2001:db8:1:201::1", "2001:db8:1:2ff::1"} {
			from(t, ts, a, http.StatusSwitchingProtocols)
		}
		from(t, ts, "2001:db8:1:280::1", http.StatusTooManyRequests)
		from(t, ts, "2001:db8:1:300::1", http.StatusSwitchingProtocols)
	})
}

func TestNewChecksIPv6Prefix(t *testing.T) {
	library, err := posts.Open(testPosts, false)
	if err != nil {
		t.Fatal(err)
	}
	for bits, ok := range map[int]bool{-64: false, 1: false, 31: false, 129: false, 1 << 20: false, 0: true, 32: true, 64: true, 128: true} {
		_, err := web.New(web.Config{Posts: library, Views: views.Embedded, Presence: noPresence{}, IPv6Prefix: bits})
		if ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "IPv6Prefix")) {
			t.Errorf("IPv6Prefix %d: %v", bits, err)
		}
	}
}

// noPresence is a Presence for servers that are built and never served.
type noPresence struct{}

func (noPresence) Join(string, readtag.Reader, bool, readtag.Client) readtag.Session { return nil }

func TestForwardedForIgnoredFromUntrustedPeers(t *testing.T) {
	ts := startServer(t, func(c *web.Config, _ *actors.Config) {
		c.MaxReadersPerIP = 1
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	for range 2 {
		if _, status, _ := ts.upgrade(t, "alpha", "X-Forwarded-For", "203.0.113.7"); status != http.StatusSwitchingProtocols {
			t.Fatalf("reader claiming 203.0.113.7 from an untrusted peer: %d, want 101 (the header is ignored)", status)
		}
	}
	logs := ts.Logs.String()
	if strings.Contains(logs, "203.0.113.7") || !strings.Contains(logs, `"remote":"127.0.0.1"`) {
		t.Errorf("the log should name the TCP peer, not the header:\n%s", logs)
	}
}

// TestControlFloodCloses1008: every WebSocket, a post's and the index's,
// has one frame budget that pings and pongs draw on as data frames do. A
// client flooding either is closed with 1008 (and sees the close frame),
// while another client of the same path keeps getting its frames.
func TestControlFloodCloses1008(t *testing.T) {
	for socket, path := range map[string]string{"post": "/ws/posts/alpha", "index": "/ws/index"} {
		for name, kind := range map[string]int{"pings": websocket.PingMessage, "pongs": websocket.PongMessage} {
			t.Run(socket+" "+name, func(t *testing.T) {
				ts := startServer(t, nil)
				var other *client.Conn
				var watcher *indexWatcher
				if path == "/ws/index" {
					watcher = ts.watchIndex(t)
				} else {
					other = ts.dial(t, "alpha")
				}
				ws, status, _ := ts.upgradeTo(t, path, "Origin", ts.URL)
				if status != http.StatusSwitchingProtocols {
					t.Fatalf("upgrade %s: %d", path, status)
				}
				go func() {
					for range 10000 {
						if ws.WriteControl(kind, []byte("x"), time.Now().Add(time.Second)) != nil {
							return
						}
					}
				}()
				if code, reason := closeCode(t, ws); code != 1008 || reason != "too many messages: at most 50 per second" {
					t.Fatalf("%s flood on %s: close %d %q, want 1008 too many messages", name, path, code, reason)
				}
				// The other client of the path is still served.
				if watcher != nil {
					ts.dial(t, "beta")
					watcher.within(t, waitLimit, map[string]int{"beta": 1})
					return
				}
				if err := other.Scroll(0.5); err != nil {
					t.Fatal(err)
				}
				b := ts.dial(t, "alpha")
				waitGhosts(t, b, id(other)+"@0.5")
			})
		}
	}
}

func TestInvalidUTF8Closes1007(t *testing.T) {
	ts := startServer(t, nil)
	ws, _, _ := ts.upgrade(t, "alpha", "Origin", ts.URL)
	if err := ws.WriteMessage(websocket.TextMessage, []byte("{\"type\":\"scroll\xff\",\"position\":0.5}")); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeCode(t, ws); code != 1007 {
		t.Fatalf("invalid UTF-8: close %d, want 1007", code)
	}
}

// closeCode reads until the server closes ws and returns its close frame.
func closeCode(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
	}
}

// rawRequest sends req on a new TCP connection and returns everything the
// server writes until it closes the connection (or 5 s pass).
func rawRequest(t *testing.T, addr, req string) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	closed := err == nil // EOF: the server closed
	if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		closed = true // reset
	}
	return string(b), closed
}

func TestContentLengthWithTransferEncoding(t *testing.T) {
	ts := startServer(t, nil)
	addr := strings.TrimPrefix(ts.URL, "http://")
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, req := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"GET / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 40\r\n\r\n0\r\n\r\n" + smuggled,
		"GET /posts/alpha HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n" + smuggled,
	} {
		out, closed := rawRequest(t, addr, req)
		if !strings.HasPrefix(out, "HTTP/1.1 400 ") || !closed || strings.Count(out, "HTTP/1.1 ") != 1 {
			t.Errorf("%q:\nclosed %v, answer %q; want one 400 and the connection closed", req, closed, out)
		}
	}
	// Either header alone is fine.
	out, _ := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200 ") {
		t.Errorf("plain request: %q", out)
	}
}

func TestIdleConnectionsCannotStarveReaders(t *testing.T) {
	ts := startServer(t, func(c *web.Config, _ *actors.Config) { c.MaxHTTPConns = 4 })
	addr := strings.TrimPrefix(ts.URL, "http://")
	// Readers are not HTTP connections: more of them than the cap.
	var readers []string
	for range 6 {
		readers = append(readers, id(ts.dial(t, "alpha")))
	}
	// A flood of silent connections evicts only itself.
	for range 50 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	if status, _ := ts.get(t, "/"); status != http.StatusOK {
		t.Fatalf("page during a flood of silent connections: %d", status)
	}
	b := ts.dial(t, "alpha")
	if len(b.Ghosts()) != len(readers) {
		t.Errorf("new reader sees %d ghosts, want %d", len(b.Ghosts()), len(readers))
	}
	if idle, busy := ts.Web.HTTPConns(); idle+busy > 4 {
		t.Errorf("%d idle and %d busy HTTP connections, cap 4", idle, busy)
	}
	_, body := ts.get(t, "/metrics")
	if !strings.Contains(body, `readtag_refused_total{why="http_idle_evicted"}`) {
		t.Errorf("metrics do not count evictions")
	}
}

func TestBusyConnectionsAreNotEvicted(t *testing.T) {
	ts := startServer(t, func(c *web.Config, _ *actors.Config) { c.MaxHTTPConns = 2 })
	addr := strings.TrimPrefix(ts.URL, "http://")
	var busy []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		busy = append(busy, c)
	}
	eventually(t, "both requests started", func() bool { _, n := ts.Web.HTTPConns(); return n == 2 })
	out, closed := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 503 ") || !strings.Contains(out, "Retry-After: 5") || !closed {
		t.Fatalf("newcomer with every connection busy: %q, closed %v; want 503 with Retry-After", out, closed)
	}
	for _, c := range busy {
		if _, err := io.WriteString(c, "Connection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("busy connection's request: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	eventually(t, "a page once the busy ones are done", func() bool {
		out, _ := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		return strings.HasPrefix(out, "HTTP/1.1 200 ")
	})
}

func TestMetricsApart(t *testing.T) {
	ts := startServer(t, func(c *web.Config, _ *actors.Config) { c.MetricsApart = true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ts.Web.ServeMetrics(ln) }()
	private := "http://" + ln.Addr().String()
	for _, path := range []string{"/metrics", "/healthz"} {
		if status, _ := ts.get(t, path); status != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, status)
		}
		resp, err := http.Get(private + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("private %s: %d", path, resp.StatusCode)
		}
	}
	ts.Stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve metrics: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("metrics listener still serving after Shutdown")
	}
}

// TestBrowserRetriesWhenFull opens a post on a node that is full: the page
// cannot see the 503, retries with its back-off, and connects once a place
// frees up.
func TestBrowserRetriesWhenFull(t *testing.T) {
	browser := newBrowser(t)
	embedded := embeddedPosts(t)
	ts := startServer(t, func(c *web.Config, a *actors.Config) {
		embedded(c, a)
		c.MaxReaders = 1
	})
	holder, _, _ := ts.upgrade(t, "reading-together")
	page := tab(t, browser, ts.URL+"/posts/reading-together", 1024, 768)
	refused := func() int {
		_, body := ts.get(t, "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, `readtag_refused_total{why="max_readers"} `); ok {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
		return 0
	}
	start, seen := time.Now(), 0
	eventually(t, "three refusals", func() bool {
		if n := refused(); n != seen {
			seen = n
			t.Logf("refusal %d at %v", n, time.Since(start).Round(10*time.Millisecond))
		}
		return seen >= 3
	})
	if eval[bool](t, page, `window.readtag.state().connected`) {
		t.Fatal("the page says it is connected to a full node")
	}
	_ = holder.Close()
	d := poll(t, page, "the page to connect once there is room", `window.readtag.state().connected`, 30*time.Second)
	t.Logf("connected %v after the place freed up", d)
}
