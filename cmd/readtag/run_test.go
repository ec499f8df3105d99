package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/web/client"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{args: []string{"--log-level", "loud"}, want: `--log-level "loud": want debug, info, warn or error`},
		{args: []string{"--log-level", "debug+2"}, want: `--log-level "debug+2"`},
		{args: []string{"--log-format", "xml"}, want: `--log-format "xml": want text or json`},
		{args: []string{"--trace", "rom"}, want: `unknown actor kind "rom"`},
		{args: []string{"--addr", "8080"}, want: `--addr "8080": want host:port`},
		{args: []string{"--addr", "127.0.0.1:99999"}, want: `--addr "127.0.0.1:99999": port "99999": want a number from 0 to 65535`},
		{args: []string{"--addr", "127.0.0.1:-1"}, want: `port "-1"`},
		{args: []string{"--addr", "127.0.0.1:http"}, want: `port "http"`},
		{args: []string{"--addr", "bad host!:8080"}, want: `host "bad host!": want an IP address or a host name`},
		{args: []string{"--addr", "[::1:8080"}, want: `want host:port`},
		{env: []string{"READTAG_ADDR", "127.0.0.1:65536"}, want: `port "65536"`},
		{args: []string{"--addr", "[fe80::1%lo]:99999"}, want: `port "99999"`},
		{args: []string{"--addr", strings.Repeat("a.", 130) + "b:80"}, want: `want an IP address or a host name`},
		{args: []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:70000"}, want: `--cluster-addr "127.0.0.1:70000": port`},
		{args: []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:0"}, want: `want a number from 1 to 65535`},
		{args: []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001", "--peers", "b@127.0.0.1:99999"}, want: `--peers: "b@127.0.0.1:99999": port`},
		{args: []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001", "--peers", "b@under_score:7002"}, want: `host "under_score"`},
		{args: []string{"--posts", "/does/not/exist"}, want: `--posts "/does/not/exist": not a folder`},
		{args: []string{"--allowed-origins", "evil.example"}, want: `is not an origin like https://example.com`},
		{args: []string{"--allowed-origins", "https://:443"}, want: `--allowed-origins: "https://:443" is not an origin like https://example.com`},
		{args: []string{"--allowed-origins", "https://ok.example,http://:80"}, want: `"http://:80" is not an origin`},
		{args: []string{"--allowed-origins", "http://[]:80"}, want: `"http://[]:80" is not an origin`},
		{env: []string{"READTAG_ALLOWED_ORIGINS", "https://:0"}, want: `--allowed-origins: "https://:0"`},
		{args: []string{"--no-such-flag"}, want: "flag provided but not defined: -no-such-flag"},
		{args: []string{"extra"}, want: `unexpected argument "extra"`},
		{env: []string{"READTAG_LOG_LEVEL", "chatty"}, want: `--log-level "chatty"`},
		{env: []string{"READTAG_TRACE", "post=Bad Slug"}, want: "not a post slug"},
		{args: []string{"--public-url", "blog.example.com"}, want: `--public-url: public url "blog.example.com": want http:// or https://`},
		{args: []string{"--public-url", "ftp://blog.example.com"}, want: "want http:// or https://"},
		{args: []string{"--public-url", "https://"}, want: "no host"},
		{args: []string{"--public-url", "https://u:p@blog.example.com"}, want: "no credentials"},
		{args: []string{"--public-url", "https://blog.example.com/blog"}, want: "no path"},
		{args: []string{"--public-url", "https://blog.example.com/?x=1"}, want: "no credentials, query or fragment"},
		{args: []string{"--public-url", "https://bad_host!.example"}, want: "bad host"},
		{args: []string{"--public-url", "https://a b.example"}, want: "--public-url"},
		{env: []string{"READTAG_PUBLIC_URL", "javascript:alert(1)"}, want: "want http:// or https://"},
		{args: []string{"--site-title", strings.Repeat("x", 101)}, want: "--site-title"},
		{args: []string{"--site-title", " "}, want: "--site-title: blank"},
		{env: []string{"READTAG_SITE_AUTHOR", "Ann\r\nX-Injected: 1"}, want: "--site-author"},
		{args: []string{"--site-description", strings.Repeat("words ", 60)}, want: "at most 300"},
		{args: []string{"--site-description", "a\x00b"}, want: "control characters"},
		{args: []string{"--site-image", "javascript:alert(1)"}, want: "--site-image"},
		{args: []string{"--site-image", `/x.png"><script>`}, want: "--site-image"},
		{env: []string{"READTAG_SITE_IMAGE", "cover.png"}, want: "--site-image"},
		{env: []string{"READTAG_AUTHOR_MODE", "yes"}, want: `READTAG_AUTHOR_MODE "yes"`},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, &out, env(tc.env...))
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want a usage error containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, env()); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"-addr", "-posts", "-views", "-allowed-origins", "-log-level", "-log-format", "-trace", "READTAG_ADDR"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("--help does not mention %s:\n%s", flag, out.String())
		}
	}
	// --help and the error for a bad --trace list the same kinds.
	err := run(context.Background(), []string{"--trace", "nope"}, io.Discard, env())
	kinds := strings.Join(actors.Kinds, ", ")
	if err == nil || !strings.Contains(err.Error(), kinds) {
		t.Errorf("bad --trace: %v, want the kinds %s", err, kinds)
	}
	if !strings.Contains(out.String(), "("+kinds+")") {
		t.Errorf("--help does not list the trace kinds %s:\n%s", kinds, out.String())
	}
	// It reads in a terminal of 90 columns (tab stops every 8; a default
	// value's length is the machine's, not ours).
	for _, line := range strings.Split(out.String(), "\n") {
		if i := strings.Index(line, " (default "); i >= 0 {
			line = line[:i]
		}
		if n := columns(line); n > 90 {
			t.Errorf("--help line of %d columns, want at most 90:\n%s", n, line)
		}
	}
}

// columns is how wide line shows in a terminal with tab stops every 8.
func columns(line string) int {
	n := 0
	for _, r := range line {
		if r == '\t' {
			n += 8 - n%8
		} else {
			n++
		}
	}
	return n
}

// TestBadFlagPrintsNothing: run itself writes nothing for a bad flag (main
// prints the error once, on stderr).
func TestBadFlagPrintsNothing(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"--addr"}, {"--addr", "x"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, env()); err == nil || out.Len() > 0 {
			t.Errorf("%v: error %v, stdout %q; want an error and no output", args, err, out.String())
		}
	}
}

// logLines collects a process's JSON log lines.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.raw.Write(p)
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			l.lines = append(l.lines, m)
		}
	}
	return len(p), nil
}

// find returns the first line with msg, waiting up to 10 s.
func (l *logLines) find(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, m := range l.lines {
			if m["msg"] == msg {
				l.mu.Unlock()
				return m
			}
		}
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q log line in:\n%s", msg, l.raw.String())
	return nil
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logLines{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-format", "json"}, logs, env())
	}()
	start := logs.find(t, "readtag listening")
	base := "http://" + start["addr"].(string)
	if n := start["posts"].(float64); n < 4 {
		t.Errorf("serving %v embedded posts, want at least 4", n)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %d", resp.StatusCode)
	}
	c, err := client.Dial(ctx, client.URL(base, "how-readtag-works"), client.Options{Origin: base})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := c.Wait(wctx, c.Welcomed); err != nil {
		t.Fatal(err)
	}

	stopped := time.Now()
	cancel() // as SIGINT would
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	t.Logf("shut down in %v", time.Since(stopped))
	var ce *websocket.CloseError
	if err := c.WaitClosed(wctx); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("open WebSocket ended with %v, want close 1001", err)
	}
}

// TestSignals builds the real binary and stops it with SIGTERM and SIGINT.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "readtag")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--log-format", "json")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			logs := &logLines{}
			go func() { _, _ = io.Copy(logs, bufio.NewReader(stdout)) }()
			base := "http://" + logs.find(t, "readtag listening")["addr"].(string)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := client.Dial(ctx, client.URL(base, "actors-in-go"), client.Options{Origin: base})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Wait(ctx, c.Welcomed); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exit after %v: %v", sig, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("still running 5 s after %v", sig)
			}
			t.Logf("exit 0 %v after %v", time.Since(start), sig)
			var ce *websocket.CloseError
			if err := c.WaitClosed(ctx); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("WebSocket ended with %v, want close 1001", err)
			}
		})
	}
}

func TestBadFlagExitCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "readtag")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--log-format", "xml").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--log-format") {
		t.Errorf("bad flag: %v, output %q; want exit 2 with the reason", err, out)
	}
	out, err = exec.Command(bin, "--public-url", "example.com").CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--public-url") {
		t.Errorf("bad public url: %v, output %q; want exit 2 with the reason", err, out)
	}
	// A bad flag is said once, on stderr, with a pointer to --help; stdout
	// stays empty. Every bad value exits 2, a port out of range too.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--no-such-flag"}, "readtag: flag provided but not defined: -no-such-flag\nRun 'readtag --help' for usage.\n"},
		{[]string{"--addr", "127.0.0.1:99999"}, "readtag: --addr \"127.0.0.1:99999\": port \"99999\": want a number from 0 to 65535\nRun 'readtag --help' for usage.\n"},
		{[]string{"--memory-limit", "lots"}, "readtag: --memory-limit: \"lots\" is not a size like 512MiB or 1GiB\nRun 'readtag --help' for usage.\n"},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, tc.args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || stdout.Len() > 0 || stderr.String() != tc.want {
			t.Errorf("%v: %v, stdout %q, stderr %q; want exit 2, no stdout, stderr %q", tc.args, err, stdout.String(), stderr.String(), tc.want)
		}
	}
	var stdout bytes.Buffer
	cmd := exec.Command(bin, "--help")
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), "Usage: readtag") {
		t.Errorf("--help: %v, stdout %q; want exit 0 and the usage", err, stdout.String())
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "broken.md"), []byte("---\ntitle: [x\n---\n"), 0o644)
	out, err = exec.Command(bin, "--posts", dir).CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "broken.md: line 2: front matter") {
		t.Errorf("broken post: %v, output %q; want exit 1 naming the file", err, out)
	}

}

func TestGoodAddrs(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.1:65535", ":8080", "[::1]:8080", "localhost:8080", "blog.example.com.:443", "[fe80::1%lo]:80"} {
		if _, err := parseOptions([]string{"--addr", addr}, io.Discard, env()); err != nil {
			t.Errorf("--addr %s: %v", addr, err)
		}
	}
	args := []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001", "--peers", "b@127.0.0.2:7002,c@[::1]:7003", "--cluster-insecure"}
	if _, err := parseOptions(args, io.Discard, env()); err != nil {
		t.Errorf("%v: %v", args, err)
	}
}

// The peer budget and reader-cap flags: bad values are refused with the
// flag's name; unset, the reader caps follow --max-readers.
func TestPeerBudgetFlags(t *testing.T) {
	base := []string{"--node-id", "a", "--cluster-addr", "127.0.0.1:7001", "--peers", "b@127.0.0.1:7002", "--cluster-insecure", "--max-readers", "500"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster-peer-messages", "0"}, `--cluster-peer-messages "0": want a number from 1 to 10000000`},
		{[]string{"--cluster-peer-messages", "NaN"}, `--cluster-peer-messages "NaN"`},
		{[]string{"--cluster-peer-messages", "Inf"}, `--cluster-peer-messages "Inf"`},
		{[]string{"--cluster-peer-bytes", "1KiB"}, `--cluster-peer-bytes "1KiB": want a size of at least 64KiB`},
		{[]string{"--cluster-peer-bytes", "lots"}, `--cluster-peer-bytes "lots"`},
		{[]string{"--cluster-peer-cooldown", "30"}, `--cluster-peer-cooldown "30": want a duration from 1s to 24h`},
		{[]string{"--cluster-peer-cooldown", "-5s"}, `--cluster-peer-cooldown "-5s"`},
		{[]string{"--cluster-max-readers", "0"}, `--cluster-max-readers "0": want a whole number from 1 to`},
		{[]string{"--cluster-max-post-readers", "1e3"}, `--cluster-max-post-readers "1e3"`},
	} {
		_, err := parseOptions(append(slices.Clone(base), tc.args...), io.Discard, func(string) string { return "" })
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
	o, err := parseOptions(base, io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cc := o.cluster; cc.MaxRemoteReaders != 500 || cc.MaxPostReaders != 500 || cc.Budget.Messages != 5000 || cc.Budget.Bytes != 8<<20 || cc.Budget.Cooldown != 30*time.Second {
		t.Errorf("defaults: readers %d, post %d, budget %+v", cc.MaxRemoteReaders, cc.MaxPostReaders, cc.Budget)
	}
	env := map[string]string{"READTAG_CLUSTER_MAX_POST_READERS": "20", "READTAG_CLUSTER_PEER_BYTES": "1MiB"}
	o, err = parseOptions(base, io.Discard, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cc := o.cluster; cc.MaxRemoteReaders != 500 || cc.MaxPostReaders != 20 || cc.Budget.Bytes != 1<<20 {
		t.Errorf("from the environment: readers %d, post %d, bytes %v", cc.MaxRemoteReaders, cc.MaxPostReaders, cc.Budget.Bytes)
	}
}

// TestUsageLines reads every flag's lines of --help: the flag package turns a
// back-quoted word of the usage into the value's name and drops the quotes,
// so the word must read in the sentence ("the most live WebSockets (a count)
// this node accepts", not "live WebSockets this node n accepts"), and a
// usage without one shows the type ("string") instead.
func TestUsageLines(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, env()); err != nil {
		t.Fatal(err)
	}
	type flagHelp struct{ name, value, usage string }
	var flags []*flagHelp
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "  -"):
			name, value, _ := strings.Cut(strings.TrimPrefix(line, "  -"), " ")
			flags = append(flags, &flagHelp{name: name, value: value})
		case strings.HasPrefix(line, "    \t") && len(flags) > 0:
			f := flags[len(flags)-1]
			f.usage += strings.TrimPrefix(line, "    \t") + " "
		}
	}
	if len(flags) < 30 {
		t.Fatalf("found %d flags in --help, want them all:\n%s", len(flags), out.String())
	}
	placeholder := regexp.MustCompile(`^[a-zA-Z][a-zA-Z:@]+$`)
	for _, f := range flags {
		envName := "READTAG_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_"))
		if !strings.Contains(f.usage, "("+envName) {
			t.Errorf("-%s: the usage does not name %s: %q", f.name, envName, f.usage)
		}
		if f.value == "" {
			continue // a bool flag
		}
		// A bare type name means the usage has no back-quoted word; one
		// letter is a symbol, not a word that reads in the sentence.
		if !placeholder.MatchString(f.value) || slices.Contains([]string{"string", "int", "value"}, f.value) {
			t.Errorf("-%s %s: name the value with a back-quoted word of its usage", f.name, f.value)
		}
		if !regexp.MustCompile(`(^|[ (])` + regexp.QuoteMeta(f.value) + `([ ,:;)]|$)`).MatchString(f.usage) {
			t.Errorf("-%s %s: the value's name is not a word of its usage %q", f.name, f.value, f.usage)
		}
	}
	for _, odd := range []string{"connections n held", "node n accepts", "pages n of", "readers n one", "second n one"} {
		if strings.Contains(out.String(), odd) {
			t.Errorf("--help still says %q", odd)
		}
	}
}

// TestRunWatchesAnEmptyFolder: readtag starts on an empty posts folder with
// the author's settings, says there are no posts yet, and serves the first
// one written without a restart and without a request to find it.
func TestRunWatchesAnEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logLines{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-format", "json", "--posts", dir},
			logs, env("READTAG_SITE_TITLE", "Ann's notes", "READTAG_SITE_DESCRIPTION", "Things I read."))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	base := "http://" + logs.find(t, "readtag listening")["addr"].(string)
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	if page := get("/"); !strings.Contains(page, "No posts yet.") || !strings.Contains(page, "<title>Posts · Ann&#39;s notes</title>") ||
		!strings.Contains(page, `<span class="site-tagline">Things I read.</span>`) {
		t.Errorf("empty index: want no posts and the site's title and description:\n%s", page)
	}
	if err := os.WriteFile(filepath.Join(dir, "first.md"), []byte("---\ntitle: First\ndate: 2026-12-01\nsummary: S.\n---\nHi.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs.find(t, "post parsed")
	if page := get("/"); !strings.Contains(page, `href="/posts/first"`) {
		t.Errorf("index after the first post:\n%s", page)
	}
}
