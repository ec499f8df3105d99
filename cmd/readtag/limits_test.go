package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/web/client"
)

func TestBadLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{args: []string{"--max-readers", "0"}, want: `--max-readers "0": want a whole number from 1`},
		{args: []string{"--max-readers", "many"}, want: `--max-readers "many"`},
		{args: []string{"--max-http-conns", "-5"}, want: `--max-http-conns "-5"`},
		{args: []string{"--max-readers-per-ip", "1e3"}, want: `--max-readers-per-ip "1e3"`},
		{args: []string{"--max-readers", "10", "--max-readers-per-ip", "11"}, want: "--max-readers-per-ip 11 is more than --max-readers 10"},
		{args: []string{"--trusted-proxies", "10.0.0.0/33"}, want: `--trusted-proxies: "10.0.0.0/33" is not an address or a CIDR`},
		{args: []string{"--trusted-proxies", "10.0.0.1,proxy.local"}, want: `"proxy.local"`},
		{args: []string{"--metrics-addr", "9090"}, want: `--metrics-addr "9090": want host:port`},
		{args: []string{"--metrics-addr", "127.0.0.1:99999"}, want: `--metrics-addr "127.0.0.1:99999": port "99999"`},
		{args: []string{"--addr", "127.0.0.1:8080", "--metrics-addr", "127.0.0.1:8080"}, want: "must differ from --addr"},
		{env: []string{"READTAG_MAX_READERS", "lots"}, want: `--max-readers "lots"`},
		{env: []string{"READTAG_TRUSTED_PROXIES", "::1/129"}, want: "--trusted-proxies"},
		{args: []string{"--ipv6-prefix", "31"}, want: `--ipv6-prefix "31": want a prefix length from 32 to 128`},
		{args: []string{"--ipv6-prefix", "129"}, want: `--ipv6-prefix "129"`},
		{args: []string{"--ipv6-prefix", "0"}, want: `--ipv6-prefix "0"`},
		{args: []string{"--ipv6-prefix", "-64"}, want: `--ipv6-prefix "-64"`},
		{args: []string{"--ipv6-prefix", "/64"}, want: `--ipv6-prefix "/64"`},
		{args: []string{"--ipv6-prefix", "64.5"}, want: `--ipv6-prefix "64.5"`},
		{args: []string{"--ipv6-prefix", "0x40"}, want: `--ipv6-prefix "0x40"`},
		{args: []string{"--ipv6-prefix", "99999999999999999999"}, want: `--ipv6-prefix "99999999999999999999"`},
		{args: []string{"--ipv6-prefix", ""}, want: `--ipv6-prefix ""`},
		{env: []string{"READTAG_IPV6_PREFIX", "2001:db8::/64"}, want: `--ipv6-prefix "2001:db8::/64"`},
	} {
		err := run(context.Background(), tc.args, &strings.Builder{}, env(tc.env...))
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want a usage error containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestPerIPDefaultFollowsMaxReaders(t *testing.T) {
	o, err := parseOptions([]string{"--max-readers", "3"}, &strings.Builder{}, env())
	if err != nil {
		t.Fatal(err)
	}
	if o.limits.maxReaders != 3 || o.limits.maxReadersPerIP != 3 {
		t.Errorf("--max-readers 3: caps %+v, want 3 and 3", o.limits)
	}
}

// TestIPv6PrefixFlag runs readtag with READTAG_IPV6_PREFIX=48 behind a
// trusted proxy: two /64s of one /48 are one client, another /48 is not.
func TestIPv6PrefixFlag(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logLines{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-format", "json", "--trusted-proxies", "127.0.0.0/8",
			"--max-readers-per-ip", "1"}, logs, env("READTAG_IPV6_PREFIX", "48"))
	}()
	base := "http://" + logs.find(t, "readtag listening")["addr"].(string)
	if got := logs.find(t, "limits")["ipv6_prefix"]; got != float64(48) {
		t.Errorf("limits line says ipv6_prefix %v, want 48", got)
	}
	// In a subtest, so that its sockets are closed (at its cleanup) before
	// the server is stopped: a socket that never answers the server's close
	// would hold Shutdown to its deadline.
	t.Run("readers", func(t *testing.T) {
		for _, tc := range []struct {
			from string
			want int
		}{
			{"2001:db8:1:1::1", http.StatusSwitchingProtocols},
			{"2001:db8:1:2::1", http.StatusTooManyRequests},
			{"2001:db8:2::1", http.StatusSwitchingProtocols},
		} {
			if _, status := readerOn(t, base, http.Header{"X-Forwarded-For": {tc.from}}); status != tc.want {
				t.Errorf("reader from %s: %d, want %d", tc.from, status, tc.want)
			}
		}
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}

func TestCapDefaults(t *testing.T) {
	for _, tc := range []struct {
		fds                   uint64
		readers, perIP, conns int
	}{
		{128, 43, 4, 15},
		{1024, 681, 68, 228},
		{20000, 14202, 100, 4734},
		{0, 681, 68, 228},              // unknown: as 1024
		{10, 12, 1, 4},                 // tiny: a floor of 16
		{1 << 62, 747063, 100, 249021}, // unlimited: as 1<<20
	} {
		r, p, c := capDefaults(tc.fds)
		if r != tc.readers || p != tc.perIP || c != tc.conns {
			t.Errorf("capDefaults(%d) = %d, %d, %d; want %d, %d, %d", tc.fds, r, p, c, tc.readers, tc.perIP, tc.conns)
		}
	}
}

func TestMetricsAddr(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logLines{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-format", "json"}, logs, env())
	}()
	public := "http://" + logs.find(t, "readtag listening")["addr"].(string)
	private := "http://" + logs.find(t, "metrics listening")["addr"].(string)
	for _, tc := range []struct {
		url  string
		want int
	}{
		{public + "/metrics", 404}, {public + "/healthz", 404}, {public + "/", 200},
		{private + "/metrics", 200}, {private + "/healthz", 200}, {private + "/", 404},
	} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.url, resp.StatusCode, tc.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}

// limited runs the readtag binary with its open-files limit (soft and hard)
// lowered to nofile, and returns its log and base URL.
func limited(t *testing.T, nofile int, args ...string) (*exec.Cmd, *logLines, string) {
	t.Helper()
	args = append([]string{"-c", `ulimit -n "$0" && exec "$@"`, strconv.Itoa(nofile), binary(t),
		"--addr", "127.0.0.1:0", "--log-format", "json"}, args...)
	cmd := exec.Command("sh", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := &logLines{}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			_, _ = logs.Write(append(sc.Bytes(), '\n'))
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("readtag's log (last 4 KB):\n%s", tail(logs.raw.Bytes(), 4096))
			logs.mu.Unlock()
		}
	})
	if got := logs.find(t, "limits")["open_files"].(float64); int(got) != nofile {
		t.Fatalf("readtag runs with %v open files, want %d", got, nofile)
	}
	return cmd, logs, "http://" + logs.find(t, "readtag listening")["addr"].(string)
}

// flood opens n TCP connections to base's port and keeps them open (some
// may be refused or closed by the server; that is the point).
func flood(t *testing.T, base string, n int) (closeAll func()) {
	t.Helper()
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		if err == nil {
			conns = append(conns, c)
		}
	}
	t.Logf("flood: %d of %d connections opened", len(conns), n)
	closeAll = func() {
		for _, c := range conns {
			_ = c.Close()
		}
		conns = nil
	}
	t.Cleanup(closeAll)
	return closeAll
}

// serves reports whether base answers GET / within a second.
func serves(base string) bool {
	c := http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(base + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// readerOn connects a reader and waits for its welcome; with a header (even
// an empty one) it only upgrades, sending the header.
func readerOn(t *testing.T, base string, header http.Header) (*client.Conn, int) {
	t.Helper()
	if header != nil {
		d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
		ws, resp, err := d.Dial(client.URL(base, "how-readtag-works"), header)
		if err != nil {
			if resp != nil {
				return nil, resp.StatusCode
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ws.Close() })
		return nil, http.StatusSwitchingProtocols
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.URL(base, "how-readtag-works"), client.Options{KeepFrames: true})
	var de *client.DialError
	if errors.As(err, &de) {
		return nil, de.Status
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Kill() })
	if err := c.Wait(ctx, c.Welcomed); err != nil {
		t.Fatal(err)
	}
	return c, http.StatusSwitchingProtocols
}

// TestFloodWithFewFiles runs readtag with 128 open files and its default
// caps, floods it with TCP connections, and checks it keeps serving pages
// and readers throughout, and that the caps derived from the limit answer
// 503 and 429.
func TestFloodWithFewFiles(t *testing.T) {
	cmd, logs, base := limited(t, 128, "--trusted-proxies", "127.0.0.0/8")
	begin := time.Now()
	a, _ := readerOn(t, base, nil)
	b, _ := readerOn(t, base, nil)

	stop := flood(t, base, 2000)
	t.Logf("flood open at %v", time.Since(begin))
	d := within(t, 10*time.Second, "a page during the flood", func() bool { return serves(base) })
	t.Logf("a page during the flood after %v", d)
	if err := b.Scroll(0.7); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "a reader's move during the flood", func() bool {
		g := a.Ghosts()
		return len(g) == 1 && g[0].Position == 0.7
	})
	c, _ := readerOn(t, base, nil)
	if len(c.Ghosts()) != 2 {
		t.Errorf("a reader joining during the flood sees %d ghosts, want 2", len(c.Ghosts()))
	}
	stop()
	within(t, 10*time.Second, "a page after the flood", func() bool { return serves(base) })
	t.Logf("flood over at %v", time.Since(begin))

	// The caps derived from 128 files: 43 readers, 4 per address.
	limits := logs.find(t, "limits")
	if limits["max_readers"].(float64) != 43 || limits["max_readers_per_ip"].(float64) != 4 {
		t.Fatalf("caps from 128 files: %v", limits)
	}
	h := http.Header{"X-Forwarded-For": {"203.0.113.7"}}
	for i := range 4 {
		if _, status := readerOn(t, base, h); status != http.StatusSwitchingProtocols {
			t.Fatalf("reader %d from 203.0.113.7: %d", i+1, status)
		}
	}
	if _, status := readerOn(t, base, h); status != http.StatusTooManyRequests {
		t.Errorf("fifth reader from one address: %d, want 429", status)
	}
	for n := 3 + 4; n < 43; n++ {
		if _, status := readerOn(t, base, http.Header{}); status != http.StatusSwitchingProtocols {
			t.Fatalf("reader %d: %d", n+1, status)
		}
	}
	if _, status := readerOn(t, base, nil); status != http.StatusServiceUnavailable {
		t.Errorf("reader 44 of 43: %d, want 503", status)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("readtag is gone: %v", err)
	}
}

// TestAcceptRetriesWhenOutOfFiles runs readtag with 64 open files and caps
// set above that, so a flood really exhausts its descriptors: accept fails
// with EMFILE, and readtag must stay up, keep its readers, log the episode
// and serve again once the flood ends.
func TestAcceptRetriesWhenOutOfFiles(t *testing.T) {
	cmd, logs, base := limited(t, 64, "--max-http-conns", "1000", "--max-readers", "1000")
	a, _ := readerOn(t, base, nil)
	b, _ := readerOn(t, base, nil)

	stop := flood(t, base, 500)
	failing := logs.find(t, "accept failing, retrying with back-off")
	if !strings.Contains(failing["err"].(string), "too many open files") {
		t.Errorf("accept failed with %v, want EMFILE", failing["err"])
	}
	if err := b.Scroll(0.3); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "a reader's move while out of files", func() bool {
		g := a.Ghosts()
		return len(g) == 1 && g[0].Position == 0.3
	})
	stop()
	start := time.Now()
	within(t, 15*time.Second, "a page after the flood", func() bool { return serves(base) })
	t.Logf("serving again %v after the flood ended", time.Since(start))
	recovered := logs.find(t, "accept recovered")
	if n := recovered["failed_accepts"].(float64); n < 1 {
		t.Errorf("recovery logged %v failed accepts", n)
	}
	c, _ := readerOn(t, base, nil)
	if len(c.Ghosts()) != 2 {
		t.Errorf("a reader joining after the flood sees %d ghosts, want 2", len(c.Ghosts()))
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("readtag is gone: %v", err)
	}
}
