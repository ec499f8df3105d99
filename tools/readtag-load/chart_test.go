package main

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chartResult writes a --json result like a hot --compare run's: one run per
// label, with latencies from lat(i) for i in [0, n).
func chartResult(t *testing.T, dir, name string, runs map[string]func(i int) int64) string {
	t.Helper()
	rep := &Report{Tool: "readtag-load", Scenario: "hot", Params: Params{Readers: 1000, Rate: 5}}
	for _, label := range []string{"readtag", "baseline"} {
		lat, ok := runs[label]
		if !ok {
			continue
		}
		r := &Result{Label: label, Scenario: "hot", Readers: 1000, Rate: 5}
		var st Stats
		for i := range 5000 {
			st.Window.Latency.Record(lat(i))
		}
		r.final = &st
		r.fill()
		rep.Runs = append(rep.Runs, r)
	}
	path := filepath.Join(dir, name)
	if err := writeJSON(path, rep); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestChartWritesPNG(t *testing.T) {
	dir := t.TempDir()
	// readtag: 0-40 ms; the baseline: a long tail to seconds (log axis).
	cmp := chartResult(t, dir, "compare.json", map[string]func(int) int64{
		"readtag":  func(i int) int64 { return int64(i % 41) },
		"baseline": func(i int) int64 { return int64(5 + i*i%3000) },
	})
	// A second file with a narrow range only (two series with one label).
	one := chartResult(t, dir, "again.json", map[string]func(int) int64{
		"readtag": func(i int) int64 { return int64(3 + i%5) },
	})
	for _, tc := range []struct {
		name  string
		args  []string
		lines int
	}{
		{"log axis, two files", []string{cmp, one}, 3},
		{"linear axis", []string{one, "--x-scale", "linear"}, 1},
		{"forced log", []string{"--x-scale", "log", one}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".png")
			var stdout, stderr bytes.Buffer
			args := append([]string{"chart", "--out", out}, tc.args...)
			if err := run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("run(%q): %v\n%s", args, err, stderr.String())
			}
			if !strings.Contains(stdout.String(), out) {
				t.Errorf("stdout %q does not name the chart", stdout.String())
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 500 {
				t.Fatalf("chart is %d×%d, want 800×500", b.Dx(), b.Dy())
			}
			// The lines are in colour; the axes, text and grid are grey.
			colored := 0
			for y := range 500 {
				for x := range 800 {
					r, g, b, _ := img.At(x, y).RGBA()
					if max(r, g, b)-min(r, g, b) > 0x3000 {
						colored++
					}
				}
			}
			if colored < 300*tc.lines {
				t.Errorf("only %d coloured pixels: are the %d line(s) drawn?", colored, tc.lines)
			}
		})
	}
}

func TestChartSeriesFromJSON(t *testing.T) {
	dir := t.TempDir()
	path := chartResult(t, dir, "r.json", map[string]func(int) int64{
		"readtag":  func(i int) int64 { return int64(i % 10) },
		"baseline": func(i int) int64 { return 200 },
	})
	s, err := loadChartSeries(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[0].label != "hot 1000 readers · readtag" || s[1].label != "hot 1000 readers · baseline" {
		t.Fatalf("series %+v", s)
	}
	if s[0].total != 5000 || s[0].p50 != 4 || s[0].p99 != 9 {
		t.Errorf("readtag: total %d p50 %g p99 %g, want 5000, 4, 9", s[0].total, s[0].p50, s[0].p99)
	}
	pts := cdfPoints(s[0], func(v float64) float64 { return v }, 0, 10)
	if last := pts[len(pts)-1]; last.Y != 1 || pts[0].Y != 0 {
		t.Errorf("CDF runs from %v to %v, want 0 to 1", pts[0], last)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Y < pts[i-1].Y || pts[i].X < pts[i-1].X {
			t.Fatalf("CDF not monotonic at %d: %v then %v", i, pts[i-1], pts[i])
		}
	}
}

func TestChartBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write("notes.txt", "p99 was 12 ms\n")
	other := write("package.json", `{"name": "x", "runs": []}`)
	idle := write("idle.json", `{"tool": "readtag-load", "scenario": "idle", "runs": [{"label": "readtag", "scenario": "idle", "readers": 10}]}`)
	good := chartResult(t, dir, "good.json", map[string]func(int) int64{"readtag": func(i int) int64 { return 1 }})
	out := filepath.Join(dir, "out.png")
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no files", []string{"chart", "--out", out}, true, "no result files"},
		{"no --out", []string{"chart", good}, true, "--out FILE.png is required"},
		{"not png", []string{"chart", "--out", filepath.Join(dir, "x.svg"), good}, true, "PNG"},
		{"bad scale", []string{"chart", "--out", out, "--x-scale", "cubic", good}, true, "--x-scale"},
		{"bad flag", []string{"chart", "--outt", out, good}, true, "flag provided but not defined"},
		{"not json", []string{"chart", "--out", out, good, text}, false, text + " is not a readtag-load --json result"},
		{"other json", []string{"chart", "--out", out, other}, false, other + ` is not a readtag-load --json result (no "tool"`},
		{"no latency", []string{"chart", "--out", out, idle}, false, "has no scroll-to-ghost latency"},
		{"missing file", []string{"chart", "--out", out, filepath.Join(dir, "nope.json")}, false, "nope.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("run(%q) succeeded", tc.args)
			}
			var ue *usageError
			if errors.As(err, &ue) != tc.usage {
				t.Errorf("run(%q) = %v: usage error %v, want %v", tc.args, err, !tc.usage, tc.usage)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %q, want it to mention %q", tc.args, err, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a chart was written despite the error")
			}
		})
	}
}

func TestChartHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "readtag-load chart --out FILE.png") {
		t.Errorf("--help does not list the chart subcommand:\n%s", stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"chart", "--help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--out", "--x-scale", "RESULT.json"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("chart --help does not mention %s", want)
		}
	}
}
