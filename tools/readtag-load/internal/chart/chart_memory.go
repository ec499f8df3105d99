package chart

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// memSeries is one sweep's memory per reader, ready to draw.
type memSeries struct {
	label  string
	points []stats.SweepPoint // with a figure, by readers
}

// sweepKinds reports how many of files are mem-sweep results (a chart is
// of one kind: latency or memory).
func sweepKinds(files []string) (int, error) {
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, fmt.Errorf("chart: %w", err)
		}
		var head struct {
			Tool, Kind string
		}
		if json.Unmarshal(b, &head) == nil && head.Tool == "readtag-load" && head.Kind == "mem-sweep" {
			n++
		}
	}
	return n, nil
}

// runMemoryChart draws mem-sweep results: memory per reader against readers,
// one line per sweep.
func runMemoryChart(files []string, out, title string, targetKB float64, stdout io.Writer) error {
	series, err := loadMemSeries(files)
	if err != nil {
		return err
	}
	png, err := drawMemoryChart(series, title, targetKB)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	fmt.Fprintf(stdout, "memory chart of %d sweep(s) written to %s\n", len(series), out)
	return nil
}

// loadMemSeries reads mem-sweep results into one series per label.
func loadMemSeries(files []string) ([]memSeries, error) {
	var series []memSeries
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		var rep stats.SweepReport
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, fmt.Errorf("chart: %s is not a mem-sweep result: %v", f, err)
		}
		s := memSeries{label: rep.Label}
		if s.label == "" {
			s.label = f
		}
		for _, p := range rep.Points {
			if p.MemPerReader > 0 && p.Readers > 0 && !math.IsInf(p.MemPerReader, 0) && !math.IsNaN(p.MemPerReader) {
				s.points = append(s.points, p)
			}
		}
		if len(s.points) == 0 {
			return nil, fmt.Errorf("chart: %s has no memory per reader to draw (every step failed or had no --pid)", f)
		}
		// Sweeps with the same label are one line: a step re-run alone
		// (mem-sweep --counts 15000 --label …) replaces the earlier one.
		if i := slices.IndexFunc(series, func(o memSeries) bool { return o.label == s.label }); i >= 0 {
			for _, p := range s.points {
				series[i].points = slices.DeleteFunc(series[i].points, func(o stats.SweepPoint) bool { return o.Readers == p.Readers })
				series[i].points = append(series[i].points, p)
			}
			slices.SortFunc(series[i].points, func(a, b stats.SweepPoint) int { return a.Readers - b.Readers })
			continue
		}
		slices.SortFunc(s.points, func(a, b stats.SweepPoint) int { return a.Readers - b.Readers })
		series = append(series, s)
	}
	return series, nil
}

// drawMemoryChart renders the series as a PNG: KiB per reader (y) against
// idle readers (x), each point labelled with its figure.
func drawMemoryChart(series []memSeries, title string, targetKB float64) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	if p.Title.Text == "" {
		p.Title.Text = "Server memory per idle reader (RSS growth ÷ open readers)\neach point a freshly started server"
	}
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = "idle readers"
	p.Y.Label.Text = "KiB per reader"
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 215}
	grid.Horizontal.Color = color.Gray{Y: 215}
	p.Add(grid)

	var xs []float64
	ymax := targetKB * 1000 / 1024
	for _, s := range series {
		for _, pt := range s.points {
			if !slices.Contains(xs, float64(pt.Readers)) {
				xs = append(xs, float64(pt.Readers))
			}
			ymax = max(ymax, pt.MemPerReader/1024)
		}
	}
	slices.Sort(xs)

	legend := newLegend()
	var texts []string
	anyPartial := false
	for i, s := range series {
		pts := make(plotter.XYs, len(s.points))
		labels := make([]string, len(s.points))
		for j, pt := range s.points {
			pts[j] = plotter.XY{X: float64(pt.Readers), Y: pt.MemPerReader / 1024}
			labels[j] = strconv.FormatFloat(pt.MemPerReader/1024, 'f', 1, 64)
		}
		line, marks, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("chart: %s: %w", s.label, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(2)
		line.Dashes = plotutil.Dashes(i)
		marks.GlyphStyle = draw.GlyphStyle{Color: line.Color, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
		vals, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
		if err != nil {
			return nil, fmt.Errorf("chart: %s: %w", s.label, err)
		}
		for j := range vals.TextStyle {
			vals.TextStyle[j].Color = line.Color
			vals.TextStyle[j].Font.Size = vg.Points(9)
			vals.TextStyle[j].XAlign = draw.XCenter
		}
		vals.Offset = vg.Point{Y: vg.Points(6)}
		p.Add(line, marks)
		// Values at the points only when lines cannot be close enough for
		// them to collide; the legend lists every figure anyway.
		if len(series) <= 2 {
			p.Add(vals)
		}
		// A step where some readers never joined: its figure is over those
		// that did, and the failed joins' garbage counts too. Ring it.
		var partial plotter.XYs
		for _, pt := range s.points {
			if pt.Failed > 0 || pt.OpenAtEnd < int64(pt.Readers)*99/100 {
				partial = append(partial, plotter.XY{X: float64(pt.Readers), Y: pt.MemPerReader / 1024})
			}
		}
		if len(partial) > 0 {
			ring, err := plotter.NewScatter(partial)
			if err != nil {
				return nil, err
			}
			ring.GlyphStyle = draw.GlyphStyle{Color: line.Color, Radius: vg.Points(8), Shape: draw.RingGlyph{}}
			p.Add(ring)
			anyPartial = true
		}
		text := s.label + "  "
		for j, pt := range s.points {
			if j > 0 {
				text += " ·"
			}
			text += fmt.Sprintf(" %s: %.1f", fmtCount(pt.Readers), pt.MemPerReader/1024)
		}
		text += " KiB"
		legend.Add(text, line)
		texts = append(texts, text)
	}
	if targetKB > 0 {
		y := targetKB * 1000 / 1024
		t, err := plotter.NewLine(plotter.XYs{{X: 0, Y: y}, {X: xs[len(xs)-1] * 1.04, Y: y}})
		if err != nil {
			return nil, err
		}
		t.Color = color.Gray{Y: 110}
		t.Width = vg.Points(1)
		t.Dashes = []vg.Length{vg.Points(2), vg.Points(3)}
		p.Add(t)
		text := fmt.Sprintf("target: %g KB (%.1f KiB)", targetKB, y)
		legend.Add(text, t)
		texts = append(texts, text)
	}

	if anyPartial {
		p.Title.Text += "\n(ringed: fewer than 99 % of the readers joined; the figure is over those that did)"
	}
	p.X.Min, p.X.Max = 0, xs[len(xs)-1]*1.04
	p.Y.Min, p.Y.Max = 0, niceLinearAbove(ymax*1.12)
	p.Y.Tick.Marker = kibTicker{}
	p.X.Tick.Marker = countTicker(xs)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)

	return renderWithLegend(p, legend, texts)
}

// countTicker puts a labelled tick at each reader count measured.
type countTicker []float64

func (t countTicker) Ticks(lo, hi float64) []plot.Tick {
	out := []plot.Tick{{Value: 0}}
	for _, v := range t {
		if v >= lo && v <= hi {
			out = append(out, plot.Tick{Value: v, Label: fmtCount(int(v))})
		}
	}
	return out
}

// kibTicker labels the KiB axis in whole steps of 1, 2, 5, 10… (about
// five to ten of them).
type kibTicker struct{}

func (kibTicker) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for _, m := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000} {
		step = m
		if (hi-lo)/m <= 10 {
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return out
}

// fmtCount writes 15000 as 15k and 1500 as 1.5k.
func fmtCount(n int) string {
	if n >= 1000 && n%100 == 0 {
		return strconv.FormatFloat(float64(n)/1000, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n)
}
