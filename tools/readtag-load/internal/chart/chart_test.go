package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readtag/readtag/tools/readtag-load/internal/cli"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// chartResult writes a --json result like a hot --compare run's: one run per
// label, with latencies from lat(i) for i in [0, n).
func chartResult(t *testing.T, dir, name string, runs map[string]func(i int) int64) string {
	t.Helper()
	rep := &stats.Report{Tool: "readtag-load", Scenario: "hot", Params: stats.Params{Readers: 1000, Rate: 5}}
	for _, label := range []string{"readtag", "baseline"} {
		lat, ok := runs[label]
		if !ok {
			continue
		}
		r := &stats.Result{Label: label, Scenario: "hot", Readers: 1000, Rate: 5}
		var st stats.Stats
		for i := range 5000 {
			st.Window.Latency.Record(lat(i))
		}
		r.Raw.Final = &st
		r.Fill()
		rep.Runs = append(rep.Runs, r)
	}
	path := filepath.Join(dir, name)
	if err := stats.WriteJSON(path, rep); err != nil {
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
			args := append([]string{"--out", out}, tc.args...)
			if err := Run(args, &stdout, &stderr); err != nil {
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
		{"no files", []string{"--out", out}, true, "no result files"},
		{"no --out", []string{good}, true, "--out FILE.png is required"},
		{"not png", []string{"--out", filepath.Join(dir, "x.svg"), good}, true, "PNG"},
		{"bad scale", []string{"--out", out, "--x-scale", "cubic", good}, true, "--x-scale"},
		{"bad flag", []string{"--outt", out, good}, true, "flag provided but not defined"},
		{"not json", []string{"--out", out, good, text}, false, text + " is not a readtag-load --json result"},
		{"other json", []string{"--out", out, other}, false, other + ` is not a readtag-load --json result (no "tool"`},
		{"no latency", []string{"--out", out, idle}, false, "has no scroll-to-ghost latency"},
		{"missing file", []string{"--out", out, filepath.Join(dir, "nope.json")}, false, "nope.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(tc.args, &stdout, &stderr)
			if err == nil {
				t.Fatalf("run(%q) succeeded", tc.args)
			}
			var ue *cli.UsageError
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

// Mixing kinds of results in one chart is refused.
func TestChartRefusesMixedKinds(t *testing.T) {
	dir := t.TempDir()
	hot := chartResult(t, dir, "hot.json", map[string]func(int) int64{"readtag": func(i int) int64 { return int64(i % 50) }})
	sw := filepath.Join(dir, "sweep.json")
	b, _ := json.Marshal(stats.SweepReport{Tool: "readtag-load", Kind: "mem-sweep", Points: []stats.SweepPoint{{Readers: 10, MemPerReader: 1}}})
	if err := os.WriteFile(sw, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := Run([]string{"--out", filepath.Join(dir, "x.png"), hot, sw}, &stdout, &stderr)
	var ue *cli.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("chart of a hot and a sweep result = %v, want a usage error", err)
	}
}

// Sweeps with one label are one line; a later step replaces an earlier one
// at the same count; steps with no figure are left out.
func TestMemSeriesMergeByLabel(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rep stats.SweepReport) string {
		rep.Tool, rep.Kind = "readtag-load", "mem-sweep"
		b, _ := json.Marshal(rep)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.json", stats.SweepReport{Label: "readtag", Points: []stats.SweepPoint{{Readers: 15000, MemPerReader: 40000}, {Readers: 1000, MemPerReader: 27000}, {Readers: 5000}}})
	b := write("b.json", stats.SweepReport{Label: "bare", Points: []stats.SweepPoint{{Readers: 1000, MemPerReader: 20000}}})
	c := write("c.json", stats.SweepReport{Label: "readtag", Points: []stats.SweepPoint{{Readers: 15000, MemPerReader: 31000}}})
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
