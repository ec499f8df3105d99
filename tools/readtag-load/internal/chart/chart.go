package chart

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/readtag/readtag/tools/readtag-load/internal/cli"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
)

// A chart is Width×Height pixels at chartDPI (fonts are sized in points).
const (
	Width    = 800
	Height   = 500
	chartDPI = 96
	// logFloorMs is where a 0 ms latency is drawn on a log axis. Latencies
	// are whole milliseconds, so the share of updates ≤ 0.5 ms is exactly
	// the share of 0 ms ones: the curve stays true.
	logFloorMs = 0.5
)

// chartSeries is one run's latency distribution, ready to draw.
type chartSeries struct {
	label    string
	file     string
	rate     float64
	buckets  []stats.Bucket
	total    uint64
	p50, p99 float64
}

// Run is `readtag-load chart` with args after "chart": draw the
// scroll-to-ghost latency of --json results as one cumulative curve per
// run, or mem-sweep results as memory per reader. A bad command line is a
// cli.UsageError.
func Run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("readtag-load chart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the chart to this PNG `file` (required)")
	scale := fs.String("x-scale", "auto", "latency axis `scale`: log, linear, or auto (log when the latencies span a wide range)")
	title := fs.String("title", "", "chart `title` (default: one made from the runs)")
	targetKB := fs.Float64("target-kb", 0, "mem-sweep charts: draw a target line at this many `KB` (1,000 bytes) per reader")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: readtag-load chart --out FILE.png RESULT.json [RESULT.json ...]\n\n"+
			"Draws the scroll-to-ghost latency of results written by --json (hot runs) as\n"+
			"an %d×%d PNG: per run, the share of updates delivered within x ms.\n"+
			"Results of mem-sweep draw memory per reader against readers instead, one\nline per sweep.\n\nFlags:\n", Width, Height)
		fs.VisitAll(func(f *flag.Flag) {
			name, help := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  --%s %s\n    \t%s", f.Name, name, help)
			if f.DefValue != "" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
		fmt.Fprintf(w, "\nExample:\n  readtag-load hot --compare --json hot.json && readtag-load chart --out docs/latency.png hot.json\n")
	}
	// Flags may come before or after the files.
	var files []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return &cli.UsageError{Err: fmt.Errorf("chart: %w", err)}
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *out == "" {
		return cli.Usagef("chart: --out FILE.png is required")
	}
	if !strings.EqualFold(filepath.Ext(*out), ".png") {
		return cli.Usagef("chart: --out %q: the chart is a PNG, name it FILE.png", *out)
	}
	if len(files) == 0 {
		return cli.Usagef("chart: no result files: give one or more files written by readtag-load --json")
	}
	if *scale != "auto" && *scale != "log" && *scale != "linear" {
		return cli.Usagef("chart: --x-scale %q: want log, linear or auto", *scale)
	}
	if !(*targetKB >= 0 && *targetKB < 1e9) {
		return cli.Usagef("chart: --target-kb %g: want 0 (none) or a size in KB", *targetKB)
	}

	// mem-sweep results draw memory per reader instead (chart_memory.go).
	if n, err := sweepKinds(files); err != nil {
		return err
	} else if n == len(files) {
		return runMemoryChart(files, *out, *title, *targetKB, stdout)
	} else if n > 0 {
		return cli.Usagef("chart: give either mem-sweep results (memory) or other results (latency), not both")
	}
	var series []chartSeries
	for _, f := range files {
		s, err := loadChartSeries(f)
		if err != nil {
			return err
		}
		series = append(series, s...)
	}
	png, err := drawChart(series, *scale, *title)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, png, 0o644); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	fmt.Fprintf(stdout, "chart of %d run(s) written to %s\n", len(series), *out)
	return nil
}

// loadChartSeries reads one --json result and returns its runs that measured
// scroll-to-ghost latency.
func loadChartSeries(path string) ([]chartSeries, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	var rep stats.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("chart: %s is not a readtag-load --json result: %v", path, err)
	}
	if rep.Tool != "readtag-load" {
		return nil, fmt.Errorf(`chart: %s is not a readtag-load --json result (no "tool": "readtag-load")`, path)
	}
	var out []chartSeries
	for _, r := range rep.Runs {
		if r == nil {
			continue
		}
		buckets := r.LatencyBucketsMs
		if len(buckets) == 0 {
			buckets = r.Stats.Window.Latency.Buckets()
		}
		buckets = slices.Clone(buckets)
		slices.SortFunc(buckets, func(a, b stats.Bucket) int { return cmp.Compare(a.Lo, b.Lo) })
		var total uint64
		for _, b := range buckets {
			if b.Hi < b.Lo || b.Lo < 0 {
				return nil, fmt.Errorf("chart: %s: run %q: latency bucket [%d, %d] is not a range", path, r.Label, b.Lo, b.Hi)
			}
			total += b.Count
		}
		if total == 0 {
			continue
		}
		s := chartSeries{file: path, rate: r.Rate, buckets: buckets, total: total}
		scenario, readers, label := r.Scenario, r.Readers, r.Label
		if scenario == "" {
			scenario = rep.Scenario
		}
		if readers == 0 {
			readers = rep.Params.Readers
		}
		if label == "" {
			label = "readtag"
		}
		s.label = fmt.Sprintf("%s %d readers · %s", scenario, readers, label)
		if r.LatencyMs != nil {
			s.p50, s.p99 = r.LatencyMs.P50, r.LatencyMs.P99
		} else {
			s.p50, s.p99 = bucketQuantile(buckets, total, 0.5), bucketQuantile(buckets, total, 0.99)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		sc := rep.Scenario
		if sc == "" {
			sc = "?"
		}
		return nil, fmt.Errorf("chart: %s has no scroll-to-ghost latency to draw (scenario %s, %d run(s); only hot runs measure it)", path, sc, len(rep.Runs))
	}
	return out, nil
}

// bucketQuantile is Histogram.Quantile for buckets alone (older files).
func bucketQuantile(buckets []stats.Bucket, total uint64, q float64) float64 {
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for _, b := range buckets {
		seen += b.Count
		if seen >= rank {
			return float64(b.Lo) + float64(b.Hi-b.Lo)/2
		}
	}
	return float64(buckets[len(buckets)-1].Hi)
}

// drawChart renders the series as a PNG.
func drawChart(series []chartSeries, scale, title string) ([]byte, error) {
	// Same label twice (the same scenario in two files): tell them apart.
	labels := make([]string, len(series))
	count := map[string]int{}
	rates := map[float64]bool{}
	for i, s := range series {
		labels[i] = s.label
		count[s.label]++
		rates[s.rate] = true
	}
	for i, s := range series {
		if count[s.label] > 1 {
			if len(rates) > 1 {
				labels[i] += fmt.Sprintf(" @ %g/s", s.rate)
			} else {
				labels[i] += " (" + filepath.Base(s.file) + ")"
			}
		}
	}

	// The range over all runs decides the axis.
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, s := range series {
		lo = min(lo, s.buckets[0].Lo)
		hi = max(hi, s.buckets[len(s.buckets)-1].Hi)
	}
	logX := scale == "log" || (scale == "auto" && float64(hi) >= 20*math.Max(float64(lo), 1))
	xpos := func(v float64) float64 {
		if logX {
			return math.Max(v, logFloorMs)
		}
		return v
	}
	var xmin, xmax float64
	if logX {
		xmin = niceBelow(xpos(float64(lo)))
		// End at a labelled tick unless that wastes much of the width.
		xmax = niceAbove(float64(hi))
		if xmax > 1.5*float64(hi) {
			xmax = 1.25 * math.Max(float64(hi), 1)
		}
	} else {
		xmin = 0
		xmax = niceLinearAbove(float64(hi))
	}

	p := plot.New()
	p.Title.Text = title
	if p.Title.Text == "" {
		p.Title.Text = "Scroll-to-ghost latency: share of updates a reader sees within x ms"
		if len(rates) == 1 {
			for r := range rates {
				if r > 0 {
					p.Title.Text += fmt.Sprintf("\n(each reader scrolling %g times a second)", r)
				}
			}
		}
	}
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = "latency (ms)"
	if logX {
		p.X.Label.Text = "latency (ms, log scale)"
	}
	p.Y.Label.Text = "share of updates ≤ x"
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)

	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 215}
	grid.Horizontal.Color = color.Gray{Y: 215}
	p.Add(grid)

	legend := newLegend()
	for i, s := range series {
		pts := cdfPoints(s, xpos, xmin, xmax)
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("chart: %s: %w", s.label, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(2)
		line.Dashes = plotutil.Dashes(i)
		marks, err := plotter.NewScatter(plotter.XYs{{X: xpos(s.p50), Y: 0.5}, {X: xpos(s.p99), Y: 0.99}})
		if err != nil {
			return nil, fmt.Errorf("chart: %s: %w", s.label, err)
		}
		marks.GlyphStyle = draw.GlyphStyle{Color: line.Color, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
		p.Add(line, marks)
		legend.Add(fmt.Sprintf("%s   p50 %s · p99 %s", labels[i], fmtMs(s.p50), fmtMs(s.p99)), line)
	}

	p.X.Min, p.X.Max = xmin, xmax
	p.Y.Min, p.Y.Max = 0, 1.02
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicker{}
	} else {
		p.X.Tick.Marker = linearTicker{}
	}
	p.Y.Tick.Marker = shareTicker{}
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)

	texts := make([]string, len(series))
	for i, s := range series {
		texts[i] = fmt.Sprintf("%s   p50 %s · p99 %s", labels[i], fmtMs(s.p50), fmtMs(s.p99))
	}
	return renderWithLegend(p, legend, texts)
}

// newLegend is the legend both charts draw in a band of its own under the
// chart, so that it never hides a curve.
func newLegend() plot.Legend {
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.ThumbnailWidth = vg.Points(28)
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Padding = vg.Points(2)
	return legend
}

// renderWithLegend draws p with legend (whose rows say texts) centred in a
// band under it, and encodes the result as a PNG.
func renderWithLegend(p *plot.Plot, legend plot.Legend, texts []string) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, Width, Height))
	c := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(chartDPI))
	dc := draw.New(c)
	var legW, legH vg.Length
	rowH := legend.TextStyle.Rectangle("Mp").Max.Y
	for i, text := range texts {
		legW = max(legW, legend.ThumbnailWidth+legend.TextStyle.Rectangle(" "+text).Max.X)
		legH += rowH
		if i > 0 {
			legH += legend.Padding
		}
	}
	margin := vg.Points(6)
	band := legH + 2*margin
	p.Draw(draw.Crop(dc, 0, -2*margin, band, 0))
	W, H := dc.Max.X-dc.Min.X, dc.Max.Y-dc.Min.Y
	left := max((W-legW)/2, 0)
	legend.Draw(draw.Crop(dc, left, -(W - left - legW), margin, -(H - margin - legH)))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// cdfPoints is the cumulative share of s's updates at or below x, from xmin to
// xmax. Buckets of one value (every latency under 128 ms) are exact steps; a
// wider bucket's share rises straight across it.
func cdfPoints(s chartSeries, xpos func(float64) float64, xmin, xmax float64) plotter.XYs {
	pts := plotter.XYs{{X: xmin, Y: 0}}
	var seen uint64
	for _, b := range s.buckets {
		prev := float64(seen) / float64(s.total)
		seen += b.Count
		cum := float64(seen) / float64(s.total)
		pts = append(pts, plotter.XY{X: xpos(float64(b.Lo)), Y: prev}, plotter.XY{X: xpos(float64(b.Hi)), Y: cum})
	}
	return append(pts, plotter.XY{X: xmax, Y: 1})
}

// fmtMs formats milliseconds for the legend.
func fmtMs(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case v >= 10:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + " ms"
}

// nice125 lists 1-2-5 steps times powers of ten, around v.
func nice125(v float64) []float64 {
	e := math.Floor(math.Log10(v))
	var out []float64
	for d := e - 1; d <= e+1; d++ {
		for _, m := range []float64{1, 2, 5} {
			out = append(out, m*math.Pow(10, d))
		}
	}
	return out
}

// niceBelow is the largest 1-2-5 step at or below v (v > 0), or 0.5 ms.
func niceBelow(v float64) float64 {
	best := logFloorMs
	for _, n := range nice125(v) {
		if n <= v*(1+1e-9) && n >= best {
			best = n
		}
	}
	return best
}

// niceAbove is the smallest 1-2-5 step at or above v, at least 1.
func niceAbove(v float64) float64 {
	v = math.Max(v, 1)
	for _, n := range nice125(v) {
		if n >= v*(1-1e-9) {
			return n
		}
	}
	return v
}

// niceLinearAbove rounds v up to a multiple of a 1-2-5 step that gives a
// handful of ticks.
func niceLinearAbove(v float64) float64 {
	v = math.Max(v, 1)
	step := niceAbove(v / 8)
	return math.Ceil(v*(1+1e-9)/step) * step
}

// logTicker labels a log latency axis at 1-2-5 steps (or only at powers of ten
// when the range is very wide), with the other integers as minor ticks.
type logTicker struct{}

func (logTicker) Ticks(lo, hi float64) []plot.Tick {
	labelled := []float64{1, 2, 5}
	if math.Log10(hi/lo) > 5 {
		labelled = []float64{1}
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi*(1+1e-9); e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			for _, l := range labelled {
				if m == l {
					t.Label = strconv.FormatFloat(v, 'f', -1, 64)
				}
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// linearTicker labels a linear latency axis at about eight 1-2-5 steps, with a
// minor tick between each.
type linearTicker struct{}

func (linearTicker) Ticks(lo, hi float64) []plot.Tick {
	step := niceAbove((hi - lo) / 8)
	if (hi-lo)/8 < 1 {
		step = 1
	}
	var ticks []plot.Tick
	for i := math.Ceil(lo / step * 2); i*step/2 <= hi*(1+1e-9); i++ {
		v := i * step / 2
		t := plot.Tick{Value: v}
		if math.Mod(i, 2) == 0 {
			t.Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// shareTicker labels the share axis every 0.1.
type shareTicker struct{}

func (shareTicker) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}
