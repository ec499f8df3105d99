package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSweepUsageErrors(t *testing.T) {
	lim, err := raiseFileLimit()
	if err != nil {
		t.Skip("no open-file limit here:", err)
	}
	tooMany := fmt.Sprint(lim) // the server needs some files besides its readers
	sweep := func(args ...string) []string { return append([]string{"mem-sweep", "--server-cmd", "bare"}, args...) }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"negative count", sweep("--counts", "1000,-5"), `"-5" is not a reader count`},
		{"zero count", sweep("--counts", "0"), `"0" is not a reader count`},
		{"not a count", sweep("--counts", "1k"), `"1k" is not a reader count`},
		{"no counts", sweep("--counts", " , "), "give one or more reader counts"},
		{"above the open-file limit", sweep("--counts", "10,"+tooMany), "may open at most"},
		{"no server", []string{"mem-sweep"}, "{addr}"},
		{"missing binary", []string{"mem-sweep", "--server-cmd", "/nonexistent/readtag --addr {addr}"}, "/nonexistent/readtag"},
		{"no addr placeholder", []string{"mem-sweep", "--server-cmd", os.Args[0] + " --addr 127.0.0.1:8080"}, "has no {addr}"},
		{"targets", sweep("--targets", "http://127.0.0.1:1"), "--targets is not for mem-sweep"},
		{"pid", sweep("--pid", fmt.Sprint(os.Getpid())), "--pid is not for mem-sweep"},
		{"readers", sweep("--readers", "5"), "--readers is not for mem-sweep"},
		{"bad buffers", sweep("--buffers", "huge"), `--buffers "huge"`},
		{"negative ramp", sweep("--ramp", "-1s"), "--ramp -1s"},
		{"bare bad addr", []string{"bare-server", "--addr", "nowhere"}, `--addr "nowhere"`},
		{"bare bad buffers", []string{"bare-server", "--buffers", "tiny"}, `--buffers "tiny"`},
		{"bare negative relay tick", []string{"bare-server", "--relay-tick", "-1s"}, `--relay-tick -1s`},
		{"bare relay tick under a turn", []string{"bare-server", "--relay-tick", "1ms"}, `--relay-tick 1ms`},
		{"bare relay tick over a minute", []string{"bare-server", "--relay-tick", "2h"}, `--relay-tick 2h0m0s`},
		{"bare relay tick not a duration", []string{"bare-server", "--relay-tick", "soon"}, `relay-tick`},
		{"chart negative target", []string{"chart", "--out", "x.png", "--target-kb", "-1", "a.json"}, "--target-kb -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("run(%q) = %v, want a usage error (exit 2)", tc.args, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %q, want it to mention %q", tc.args, err, tc.want)
			}
		})
	}
}

// A bare server that cannot listen says so and exits 1.
func TestBareServerBadAddress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bare-server", "--addr", "127.0.0.1:99999"}, &stdout, &stderr)
	var ue *usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("bare-server on port 99999 = %v, want a listen error (exit 1)", err)
	}
}

func TestSweepArgv(t *testing.T) {
	o := &options{serverCmd: "readtag --addr={addr} --posts /tmp/p", buffers: "default"}
	got, err := o.sweepArgv("127.0.0.1:4242")
	if err != nil || strings.Join(got, " ") != "readtag --addr=127.0.0.1:4242 --posts /tmp/p" {
		t.Fatalf("sweepArgv = %q, %v", got, err)
	}
	o.serverCmd = "bare"
	o.buffers = "trimmed"
	got, err = o.sweepArgv("127.0.0.1:4242")
	if err != nil || !strings.Contains(strings.Join(got, " "), "bare-server --addr 127.0.0.1:4242 --buffers trimmed --exit-on-eof") {
		t.Fatalf("sweepArgv(bare) = %q, %v", got, err)
	}
	o.sharedPinger = true
	if got, _ = o.sweepArgv("127.0.0.1:4242"); got[len(got)-1] != "--shared-pinger" {
		t.Fatalf("sweepArgv(bare, shared pinger) = %q", got)
	}
}

func TestRSSSettled(t *testing.T) {
	s := func(mib ...float64) []ServerSample {
		var out []ServerSample
		for _, m := range mib {
			out = append(out, ServerSample{HasProc: true, RSS: int64(m * (1 << 20))})
		}
		return out
	}
	for _, tc := range []struct {
		samples []ServerSample
		want    bool
	}{
		{s(100, 100, 100), false},                      // too few
		{s(50, 100, 100.2, 100.3, 100.4), true},        // within 0.5 % over the last four
		{s(100, 101, 102, 103), false},                 // still climbing
		{s(10, 10.1, 10.2, 10.2), true},                // within 256 KiB
		{append(s(10, 10, 10), ServerSample{}), false}, // no figure
	} {
		if got := rssSettled(tc.samples); got != tc.want {
			t.Errorf("rssSettled(%v) = %v, want %v", tc.samples, got, tc.want)
		}
	}
}

// A tiny sweep end to end: a fresh bare server per step (this binary,
// re-executed), idle against it, the JSON, and its chart.
func TestMemSweepBareEndToEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sweep.json")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := run(ctx, []string{"mem-sweep", "--server-cmd", "bare", "--buffers", "trimmed", "--counts", "10,20",
		"--ramp", "0", "--duration", "500ms", "--json", path}, &stdout, &stderr)
	t.Logf("%s\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep SweepReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "mem-sweep" || rep.Label != "bare (trimmed buffers)" || len(rep.Points) != 2 || len(rep.Runs) != 2 {
		t.Fatalf("kind %q, label %q, %d points, %d runs; want mem-sweep, bare (trimmed buffers), 2, 2",
			rep.Kind, rep.Label, len(rep.Points), len(rep.Runs))
	}
	for i, n := range []int{10, 20} {
		p := rep.Points[i]
		if p.Readers != n || p.Welcomed != int64(n) || p.OpenAtEnd != int64(n) || p.Failed != 0 || p.Error != "" {
			t.Errorf("point %d: %+v; want %d readers all welcomed and open", i, p, n)
		}
		if p.RSSBefore <= 0 || p.RSSHold <= 0 || p.SettledAfter == "" {
			t.Errorf("point %d: RSS before %d, hold %d, settled after %q: the server was not sampled", i, p.RSSBefore, p.RSSHold, p.SettledAfter)
		}
	}
	// Each step had a server of its own.
	if rep.Runs[0].Targets[0] == rep.Runs[1].Targets[0] || rep.Runs[0].Server.PID == rep.Runs[1].Server.PID {
		t.Errorf("both steps ran against %s (pid %d): want a fresh server per step", rep.Runs[0].Targets[0], rep.Runs[0].Server.PID)
	}

	// The chart draws it (points with no figure, such as RSS that did not
	// grow, are left out; give it one that surely has one).
	for i := range rep.Points {
		rep.Points[i].MemPerReader = float64(20000 + 1000*i)
	}
	b, _ = json.Marshal(rep)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "memory.png")
	if err := run(ctx, []string{"chart", "--out", out, "--target-kb", "16", path}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if sz := img.Bounds().Size(); sz.X != chartW || sz.Y != chartH {
		t.Errorf("chart is %v, want %d×%d", sz, chartW, chartH)
	}
}

// A sweep step whose server dies at start reports it, with its output.
func TestMemSweepServerExitsAtStart(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// The tool itself as the "server", with a bad flag: it exits 2 at once.
	err := run(context.Background(), []string{"mem-sweep", "--server-cmd", os.Args[0] + " bare-server --addr {addr} --nope",
		"--counts", "5", "--ramp", "0", "--duration", "500ms"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "exited at start") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("sweep with a server that exits = %v, want 'exited at start' with its output", err)
	}
}

// Mixing kinds of results in one chart is refused.
func TestChartRefusesMixedKinds(t *testing.T) {
	dir := t.TempDir()
	hot := chartResult(t, dir, "hot.json", map[string]func(int) int64{"readtag": func(i int) int64 { return int64(i % 50) }})
	sw := filepath.Join(dir, "sweep.json")
	b, _ := json.Marshal(SweepReport{Tool: "readtag-load", Kind: "mem-sweep", Points: []SweepPoint{{Readers: 10, MemPerReader: 1}}})
	if err := os.WriteFile(sw, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"chart", "--out", filepath.Join(dir, "x.png"), hot, sw}, &stdout, &stderr)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("chart of a hot and a sweep result = %v, want a usage error", err)
	}
}

// Sweeps with one label are one line; a later step replaces an earlier one
// at the same count; steps with no figure are left out.
func TestMemSeriesMergeByLabel(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rep SweepReport) string {
		rep.Tool, rep.Kind = "readtag-load", "mem-sweep"
		b, _ := json.Marshal(rep)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.json", SweepReport{Label: "readtag", Points: []SweepPoint{{Readers: 15000, MemPerReader: 40000}, {Readers: 1000, MemPerReader: 27000}, {Readers: 5000}}})
	b := write("b.json", SweepReport{Label: "bare", Points: []SweepPoint{{Readers: 1000, MemPerReader: 20000}}})
	c := write("c.json", SweepReport{Label: "readtag", Points: []SweepPoint{{Readers: 15000, MemPerReader: 31000}}})
	series, err := loadMemSeries([]string{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].label != "readtag" || series[1].label != "bare" {
		t.Fatalf("series %+v, want readtag then bare", series)
	}
	got := series[0].points
	if len(got) != 2 || got[0].Readers != 1000 || got[1].Readers != 15000 || got[1].MemPerReader != 31000 {
		t.Fatalf("readtag points %+v, want 1000 (27000) and 15000 (31000, the re-run)", got)
	}
}
