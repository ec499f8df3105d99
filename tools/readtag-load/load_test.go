package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testserver"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/tools/readtag-load/internal/servers"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// runTool runs the tool in-process with --json and returns its report.
func runTool(t *testing.T, args ...string) (*stats.Report, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "result.json")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := run(ctx, append(args, "--json", path), &stdout, &stderr)
	t.Logf("%s\n%s", stdout.String(), stderr.String())
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatalf("no JSON written (run: %v): %v", err, rerr)
	}
	var rep stats.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep, err
}

// checkHot asserts what any healthy hot run must show.
func checkHot(t *testing.T, res *stats.Result, readers int) {
	t.Helper()
	if res.Errors != 0 {
		t.Errorf("%s: %d errors: dial %v, closes %v, error frames %v", res.Label, res.Errors, res.DialErrors, res.Closes, res.ErrorFrames)
	}
	if res.Welcomed != int64(readers) {
		t.Errorf("%s: %d of %d readers welcomed", res.Label, res.Welcomed, readers)
	}
	if res.LatencyMs == nil || res.LatencyMs.Count == 0 {
		t.Fatalf("%s: no latency samples", res.Label)
	}
	// Latency is measured, not asserted: a loaded machine may be slow.
	t.Logf("%s: latency p50 %.0f ms, p99 %.0f ms", res.Label, res.LatencyMs.P50, res.LatencyMs.P99)
	if res.UpdatesPerSec <= 0 || res.FramesSentPerSec <= 0 {
		t.Errorf("%s: updates/s %g, frames sent/s %g", res.Label, res.UpdatesPerSec, res.FramesSentPerSec)
	}
	if len(res.LatencyBucketsMs) == 0 {
		t.Errorf("%s: no latency buckets in the JSON", res.Label)
	}
}

func TestHotAgainstReadtag(t *testing.T) {
	t.Parallel()
	url := testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL
	rep, err := runTool(t, "hot", "--targets", url, "--readers", "50", "--rate", "5",
		"--duration", "3s", "--ramp", "500ms", "--procs", "1", "--pid", "0")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 {
		t.Fatalf("%d runs", len(rep.Runs))
	}
	checkHot(t, rep.Runs[0], 50)
	if rep.Machine.NumCPU == 0 || rep.Command == "" || rep.Params.Readers != 50 {
		t.Errorf("report header incomplete: %+v %q %+v", rep.Machine, rep.Command, rep.Params)
	}
}

// hot --zipf spreads readers over posts by popularity and places them on
// the targets as asked: each server gets exactly the readers the report's
// placement gives it, and by post every post's readers are on one server.
func TestHotZipfPlacement(t *testing.T) {
	t.Parallel()
	urls := []string{testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL,
		testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL}
	for _, place := range []string{"random", "post"} {
		t.Run(place, func(t *testing.T) {
			before := []int{joins(t, urls[0]), joins(t, urls[1])}
			rep, err := runTool(t, "hot", "--targets", strings.Join(urls, ","), "--readers", "40", "--zipf", "1",
				"--posts-count", "4", "--place", place, "--rate", "5", "--duration", "2s", "--ramp", "500ms", "--procs", "1")
			if err != nil {
				t.Fatal(err)
			}
			res := rep.Runs[0]
			checkHot(t, res, 40)
			if len(res.Placement) != 4 || res.Zipf != 1 || res.Place != place {
				t.Fatalf("placement %v, zipf %g, place %q", res.Placement, res.Zipf, res.Place)
			}
			perTarget := []int{0, 0}
			for slug, row := range res.Placement {
				if place == "post" && row[0] > 0 && row[1] > 0 {
					t.Errorf("%s has readers on both servers: %v", slug, row)
				}
				perTarget[0] += row[0]
				perTarget[1] += row[1]
			}
			if top := res.Placement["actors-in-go"]; top[0]+top[1] <= 10 {
				t.Errorf("the most read post has %v readers of 40", top)
			}
			for i, u := range urls {
				if got := joins(t, u) - before[i]; got != perTarget[i] {
					t.Errorf("server %d had %d joins, the placement gives it %d", i, got, perTarget[i])
				}
			}
		})
	}
}

// joins reads readtag_joins_total from a server's /metrics.
func joins(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "readtag_joins_total "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("readtag_joins_total %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("%s/metrics has no readtag_joins_total", url)
	return 0
}

func TestHotAgainstBaseline(t *testing.T) {
	t.Parallel()
	rep, err := runTool(t, "hot", "--baseline", "--readers", "50", "--rate", "5",
		"--duration", "3s", "--ramp", "500ms", "--procs", "1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Label != "baseline" {
		t.Fatalf("runs: %+v", rep.Runs)
	}
	res := rep.Runs[0]
	checkHot(t, res, 50)
	// The naive server forwards every scroll to every other reader: each
	// client receives about as many frames as all clients send (49/50 of
	// them), however fast the machine manages to send (readtag: at most
	// one per 50 ms tick).
	if res.FramesPerClientPerSec < 0.5*res.FramesSentPerSec {
		t.Errorf("baseline: %.1f frames per client per second for %.1f sent per second, want about as many",
			res.FramesPerClientPerSec, res.FramesSentPerSec)
	}
	if res.Server == nil || res.Server.PID == 0 {
		t.Error("the baseline child's process was not sampled")
	}
}

func TestStormViewsAgree(t *testing.T) {
	t.Parallel()
	url := testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL
	// Two worker processes: the views are checked across them.
	rep, err := runTool(t, "storm", "--targets", url, "--readers", "100", "--ramp", "500ms",
		"--duration", "10s", "--procs", "2")
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Runs[0]
	if res.Views == nil || !res.Views.Agree || res.Views.Checked != 100 {
		t.Fatalf("views: %+v", res.Views)
	}
	if res.Errors != 0 || res.JoinMs == nil || res.JoinMs.Count != 100 {
		t.Errorf("errors %d, join times %+v", res.Errors, res.JoinMs)
	}
}

// TestStormOverPosts spreads a storm over several posts, chosen both ways
// (--posts-count from the server's index, --posts by name): every room's
// views must agree, and every join must have its three phases measured.
func TestStormOverPosts(t *testing.T) {
	t.Parallel()
	url := testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL
	for _, tc := range []struct {
		name  string
		args  []string
		posts int
	}{
		{"posts-count", []string{"--posts-count", "3"}, 3},
		{"posts", []string{"--posts", "how-readtag-works,reading-together"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"storm", "--targets", url, "--readers", "60", "--ramp", "300ms",
				"--duration", "10s", "--procs", "2"}, tc.args...)
			rep, err := runTool(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			res := rep.Runs[0]
			if res.PostN != tc.posts {
				t.Errorf("spread over %d posts (%v), want %d", res.PostN, res.Posts, tc.posts)
			}
			if res.Views == nil || !res.Views.Agree || res.Views.Checked != 60 {
				t.Fatalf("views: %+v", res.Views)
			}
			if res.Errors != 0 {
				t.Errorf("%d errors: %v %v %v", res.Errors, res.DialErrors, res.Closes, res.ErrorFrames)
			}
			for name, s := range map[string]*stats.Summary{"join": res.JoinMs, "connect": res.ConnectMs,
				"upgrade": res.UpgradeMs, "handshake": res.HandshakeMs, "welcome": res.WelcomeMs} {
				if s == nil || s.Count != 60 {
					t.Errorf("%s times: %+v, want 60 samples", name, s)
				}
			}
			// The phases add up: connect + upgrade is the handshake, and
			// no phase is longer than the whole join (max, µs resolution).
			if res.HandshakeMs != nil && res.JoinMs != nil && res.HandshakeMs.Max > res.JoinMs.Max {
				t.Errorf("handshake max %g ms > join max %g ms", res.HandshakeMs.Max, res.JoinMs.Max)
			}
		})
	}
}

func TestChurn(t *testing.T) {
	t.Parallel()
	url := testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL
	// Two source addresses, to exercise binding (127.0.0.0/8 is all local).
	rep, err := runTool(t, "churn", "--targets", url, "--rate", "20", "--duration", "2s", "--life", "500ms",
		"--source-ips", "127.0.0.1,127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Runs[0]
	if res.Errors != 0 {
		t.Errorf("%d errors: %v %v %v", res.Errors, res.DialErrors, res.Closes, res.ErrorFrames)
	}
	if res.Welcomed != 40 || res.Closed != 40 {
		t.Errorf("welcomed %d, closed %d, want 40 each", res.Welcomed, res.Closed)
	}
}

// --cpuprofile writes a CPU profile of the run; each worker process writes
// its own to FILE.N.
func TestCPUProfile(t *testing.T) {
	t.Parallel()
	url := testserver.Start(t, testserver.LogLevel(slog.LevelError)).URL
	dir := t.TempDir()
	for _, tc := range []struct {
		procs string
		files []string
	}{
		{"1", []string{"cpu.prof"}},
		{"2", []string{"cpu.prof", "cpu.prof.0", "cpu.prof.1"}},
	} {
		path := filepath.Join(dir, "procs"+tc.procs, "cpu.prof")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := runTool(t, "hot", "--targets", url, "--readers", "4", "--rate", "5",
			"--duration", "1s", "--ramp", "0", "--procs", tc.procs, "--pid", "0", "--cpuprofile", path)
		if err != nil {
			if strings.Contains(err.Error(), "already in use") {
				t.Skip("the test binary is being profiled itself")
			}
			t.Fatal(err)
		}
		for _, f := range tc.files {
			b, err := os.ReadFile(filepath.Join(filepath.Dir(path), f))
			if err != nil {
				t.Errorf("--procs %s: %v", tc.procs, err)
				continue
			}
			// A pprof profile is gzipped protobuf.
			if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
				t.Errorf("--procs %s: %s is not a gzipped profile (%d bytes)", tc.procs, f, len(b))
			}
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"hot", "--targets", url, "--readers", "1", "--duration", "1s",
		"--cpuprofile", filepath.Join(dir, "no", "such", "dir", "cpu.prof")}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "cpu profile") {
		t.Errorf("unwritable --cpuprofile: %v", err)
	}
}

// startBare runs the bare server in-process on 127.0.0.1:0 until the test
// ends and returns its URL.
func startBare(t *testing.T, cfg servers.BareConfig) string {
	t.Helper()
	b, err := servers.NewBare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Serve(t, b.Serve, func() error { return b.Shutdown(5 * time.Second) })
}

// The idle scenario runs against the bare server unchanged.
func TestIdleAgainstBareServer(t *testing.T) {
	base := startBare(t, servers.BareConfig{Buffers: "default"})
	rep, err := runTool(t, "idle", "--targets", base, "--readers", "6", "--posts-count", "3", "--ramp", "0", "--duration", "500ms")
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	if r.Welcomed != 6 || r.Failed != 0 || r.OpenAtEnd != 6 || r.Errors != 0 {
		t.Fatalf("welcomed %d, failed %d, open %d, errors %d; want 6, 0, 6, 0", r.Welcomed, r.Failed, r.OpenAtEnd, r.Errors)
	}
	if r.PostN != 3 {
		t.Errorf("spread over %d posts, want 3", r.PostN)
	}
}
