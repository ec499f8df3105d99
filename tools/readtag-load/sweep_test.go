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

	"github.com/readtag/readtag/tools/readtag-load/internal/chart"
	"github.com/readtag/readtag/tools/readtag-load/internal/cli"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

func TestSweepUsageErrors(t *testing.T) {
	lim, err := wsclient.RaiseFileLimit()
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
		t.Run(tc.name, func(t *testing.T) { wantUsageError(t, tc.args, tc.want) })
	}
}

// A bare server that cannot listen says so and exits 1.
func TestBareServerBadAddress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bare-server", "--addr", "127.0.0.1:99999"}, &stdout, &stderr)
	var ue *cli.UsageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("bare-server on port 99999 = %v, want a listen error (exit 1)", err)
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
	var rep stats.SweepReport
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
	if sz := img.Bounds().Size(); sz.X != chart.Width || sz.Y != chart.Height {
		t.Errorf("chart is %v, want %d×%d", sz, chart.Width, chart.Height)
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
