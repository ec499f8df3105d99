package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
	"github.com/readtag/readtag/tools/readtag-load/internal/target"
	"github.com/readtag/readtag/tools/readtag-load/internal/wsclient"
)

// runner runs one scenario from the parent process.
type runner struct {
	o      *Options
	stdout io.Writer
	stderr io.Writer
	prog   *stats.Progress
	// settledAfter is how long idle waited for the server's RSS to settle.
	settledAfter time.Duration
}

// spec is one load run: which connections, where, doing what.
type spec struct {
	label   string
	targets []string
	slugs   []string
	embeds  []protocol.EmbedPage // instead of slugs: embedded pages
	seats   []wsclient.Seat      // each connection's post and target (hot --zipf)
	conns   int
	spread  time.Duration
	rate    float64
	life    time.Duration
	sampler *stats.Sampler
}

// errChecks is returned when a run completed but its correctness check
// failed (storm views that disagree): exit code 1.
var errChecks = errors.New("check failed")

// Run runs o's scenario (hot, idle, storm, churn or index) against its
// targets and reports it on stdout (and with --json, in o.JSONPath).
func Run(ctx context.Context, o *Options, stdout, stderr io.Writer) error {
	r := &runner{o: o, stdout: stdout, stderr: stderr}
	return r.run(ctx)
}

// run runs the scenario and reports it.
func (r *runner) run(ctx context.Context) error {
	o := r.o
	rep := newReport(o)
	// The hard deadline: every phase is bounded on its own, this bounds
	// them all together, whatever happens.
	budget := o.Ramp + o.Duration + o.Life + 3*time.Minute
	if o.Compare {
		budget *= 2
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	var err error
	switch o.Scenario {
	case "hot":
		err = r.hotAll(ctx, rep)
	case "idle":
		err = r.idle(ctx, rep)
	case "storm":
		err = r.storm(ctx, rep)
	case "churn":
		err = r.churn(ctx, rep)
	case "index":
		err = r.index(ctx)
	}
	if len(rep.Runs) > 0 {
		stats.PrintSummary(r.stdout, rep)
		if o.JSONPath != "" {
			if werr := stats.WriteJSON(o.JSONPath, rep); werr != nil {
				err = errors.Join(err, werr)
			} else {
				fmt.Fprintf(r.stdout, "results written to %s\n", o.JSONPath)
			}
		}
	}
	return err
}

func (r *runner) hotAll(ctx context.Context, rep *stats.Report) error {
	o := r.o
	hot := func(label string, targets []string, smp *stats.Sampler) error {
		sp := spec{label: label, targets: targets, slugs: []string{o.Post}, conns: o.Readers,
			spread: o.Ramp, rate: o.Rate, sampler: smp}
		var err error
		switch {
		case o.EmbedSites > 0:
			sp.embeds, err = r.embedPages(ctx, targets)
		case o.Zipf > 0:
			sp.slugs, sp.seats, err = r.zipfPlan(ctx, targets)
		default:
			err = checkTargets(ctx, targets, o.Post)
		}
		if err != nil {
			return err
		}
		res, err := r.hot(ctx, sp)
		if res != nil {
			rep.Runs = append(rep.Runs, res)
		}
		return err
	}
	if !o.Baseline || o.Compare {
		if err := hot("readtag", o.Targets, stats.NewSampler(o.PID, o.Metrics)); err != nil {
			return err
		}
	}
	if o.Baseline || o.Compare {
		child, err := startBaselineChild(r.stderr)
		if err != nil {
			return fmt.Errorf("start the baseline server: %w", err)
		}
		defer child.stop()
		fmt.Fprintf(r.stdout, "baseline server (naive, no coalescing) at %s, pid %d\n", child.URL, child.PID)
		if err := hot("baseline", []string{child.URL}, stats.NewSampler(child.PID, "")); err != nil {
			return err
		}
	}
	if o.Compare && len(rep.Runs) == 2 {
		rep.Ratios = stats.Ratios(rep.Runs[0], rep.Runs[1])
	}
	return nil
}

// hot: every reader scrolls; measure for --duration once all have joined.
func (r *runner) hot(ctx context.Context, sp spec) (*stats.Result, error) {
	fl, res, err := r.begin(ctx, sp)
	if err != nil {
		return nil, err
	}
	if err := r.waitJoined(ctx, fl, sp); err != nil {
		return r.finish(fl, res, err)
	}
	err = r.measure(ctx, fl, res, sp, r.o.Duration, nil)
	return r.finish(fl, res, err)
}

// idle: readers over many posts, holding still; what does a reader cost?
func (r *runner) idle(ctx context.Context, rep *stats.Report) error {
	o := r.o
	slugs, err := r.pickSlugs(ctx)
	if err != nil {
		return err
	}
	sp := spec{label: "readtag", targets: o.Targets, slugs: slugs, conns: o.Readers, spread: o.Ramp,
		sampler: stats.NewSampler(o.PID, o.Metrics)}
	fl, res, err := r.begin(ctx, sp)
	if err != nil {
		return err
	}
	rep.Runs = append(rep.Runs, res)
	if err := r.waitJoined(ctx, fl, sp); err != nil {
		_, err = r.finish(fl, res, err)
		return err
	}
	// Memory per reader is read at the end of the window: open it only
	// once the server's RSS holds still (sweep.go).
	if r.settledAfter, err = r.waitRSSSettled(ctx, fl, sp); err != nil {
		_, err = r.finish(fl, res, err)
		return err
	}
	err = r.measure(ctx, fl, res, sp, o.Duration, nil)
	_, err = r.finish(fl, res, err)
	return err
}

// checkTargets makes sure every target answers and has the post slug.
func checkTargets(ctx context.Context, targets []string, slug string) error {
	for _, t := range targets {
		if _, err := target.Check(ctx, t); err != nil {
			return err
		}
		if err := target.CheckPost(ctx, t, slug); err != nil {
			return err
		}
	}
	return nil
}

// embedPages lays out the embedded pages of a run (protocol.EmbedPages),
// after making sure that every target answers and accepts a socket from
// every site: a server started without those sites would otherwise refuse
// every reader of the run one by one.
func (r *runner) embedPages(ctx context.Context, targets []string) ([]protocol.EmbedPage, error) {
	o := r.o
	sites, err := protocol.SiteOrigins(o.EmbedOrigin, o.EmbedSites)
	if err != nil {
		return nil, err
	}
	pages := protocol.EmbedPages(sites, o.EmbedPages)
	for _, t := range targets {
		if err := target.CheckHealth(ctx, t); err != nil {
			return nil, err
		}
		for _, pg := range pages[:len(sites)] { // the first page of each site
			status, err := wsclient.Probe(ctx, t, protocol.EmbedPath(pg.URL), pg.Origin)
			switch {
			case err == nil:
			case status == http.StatusForbidden:
				return nil, fmt.Errorf("target %s refused a socket from %s (HTTP 403): start readtag with --sites %s",
					t, pg.Origin, strings.Join(sites, ","))
			case status == http.StatusNotFound:
				return nil, fmt.Errorf("target %s has no /ws/embed (HTTP 404): a readtag with embedded pages (issue 21) is needed", t)
			default:
				return nil, fmt.Errorf("target %s: a socket on %s from %s: %w", t, pg.URL, pg.Origin, err)
			}
		}
	}
	return pages, nil
}

// pickSlugs chooses the posts of a run over several (idle, storm): --posts
// if given (each checked on the first target), else the first --posts-count
// of those the server's index lists (all of them for 0).
func (r *runner) pickSlugs(ctx context.Context) ([]string, error) {
	o := r.o
	var listed []string
	for _, t := range o.Targets {
		slugs, err := target.Check(ctx, t)
		if err != nil {
			return nil, err
		}
		if listed == nil {
			listed = slugs
		}
	}
	slugs := o.Posts
	if len(slugs) == 0 {
		if len(listed) == 0 {
			return nil, fmt.Errorf("%s lists no posts on its index; pass --posts", o.Targets[0])
		}
		slugs = listed
		if o.PostsCount > 0 && o.PostsCount < len(slugs) {
			slugs = slugs[:o.PostsCount]
		}
		if o.PostsCount > len(slugs) {
			fmt.Fprintf(r.stderr, "readtag-load: the server lists %d posts, not %d: spreading over %d. "+
				"For %d posts: readtag-load --make-posts DIR --count %d, then readtag --posts DIR\n",
				len(slugs), o.PostsCount, len(slugs), o.PostsCount, o.PostsCount)
		}
		return slugs, nil
	}
	for _, s := range slugs {
		if err := target.CheckPost(ctx, o.Targets[0], s); err != nil {
			return nil, err
		}
	}
	return slugs, nil
}

// storm: everyone joins within the ramp; then every view must match the
// room exactly.
//
// With --posts or --posts-count the storm spreads over those posts (readers
// go round-robin over them) and each room is checked on its own; with
// --embed-sites over embedded pages; without them it joins --post alone.
func (r *runner) storm(ctx context.Context, rep *stats.Report) error {
	o := r.o
	slugs := []string{o.Post}
	var embeds []protocol.EmbedPage
	if o.EmbedSites > 0 {
		var err error
		if embeds, err = r.embedPages(ctx, o.Targets); err != nil {
			return err
		}
	} else if len(o.Posts) > 0 || o.PostsCount > 0 {
		var err error
		if slugs, err = r.pickSlugs(ctx); err != nil {
			return err
		}
	} else if err := checkTargets(ctx, o.Targets, o.Post); err != nil {
		return err
	}
	sp := spec{label: "readtag", targets: o.Targets, slugs: slugs, embeds: embeds, conns: o.Readers, spread: o.Ramp,
		sampler: stats.NewSampler(o.PID, o.Metrics)}
	fl, res, err := r.begin(ctx, sp)
	if err != nil {
		return err
	}
	rep.Runs = append(rep.Runs, res)
	// The storm's traffic is the joins themselves: measure from the start.
	w0 := r.openWindow(ctx, fl, res, sp)
	err = r.waitJoined(ctx, fl, sp)
	// Then poll the views until they agree or --duration passes.
	t0 := time.Now()
	var vr *stats.ViewsReport
	if err == nil {
		err = r.poll(ctx, fl, sp, t0.Add(o.Duration), func() (bool, error) {
			views, pending, err := fl.views(ctx)
			if err != nil {
				return false, err
			}
			vr = checkViews(views, pending)
			vr.SettledAfterMs = float64(time.Since(t0).Microseconds()) / 1000
			return vr.Agree, nil
		})
	}
	r.closeWindow(ctx, fl, res, sp, w0)
	res.Views = vr
	if _, ferr := r.finish(fl, res, err); ferr != nil {
		return ferr
	}
	if vr == nil || !vr.Agree {
		return fmt.Errorf("%w: the readers' views do not match the room (see mismatches above)", errChecks)
	}
	return nil
}

// churn: connections come and go at a steady rate.
func (r *runner) churn(ctx context.Context, rep *stats.Report) error {
	o := r.o
	if err := checkTargets(ctx, o.Targets, o.Post); err != nil {
		return err
	}
	conns := int(math.Ceil(o.Rate * o.Duration.Seconds()))
	sp := spec{label: "readtag", targets: o.Targets, slugs: []string{o.Post}, conns: conns, spread: o.Duration,
		life: o.Life, sampler: stats.NewSampler(o.PID, o.Metrics)}
	fl, res, err := r.begin(ctx, sp)
	if err != nil {
		return err
	}
	res.Rate = o.Rate
	rep.Runs = append(rep.Runs, res)
	// Churn measures from the first connect: the churn is the load.
	w0 := r.openWindow(ctx, fl, res, sp)
	maxWait := o.Duration + o.Life + wsclient.WelcomeTimeout + wsclient.DialTimeout
	_, err = r.wait(ctx, fl, sp, maxWait, func(s stats.Stats) bool {
		return s.Welcomed+s.Failed >= int64(conns) && s.Open == 0
	})
	r.closeWindow(ctx, fl, res, sp, w0)
	if err == nil {
		var st stats.Stats
		st, err = r.stopFleet(fl)
		res.Raw.Final = &st
		// Give the server a moment to let go of what the last readers
		// held, then look again: growth that stays is a leak.
		r.settle(ctx, sp, res)
	}
	_, err = r.finish(fl, res, err)
	return err
}

// begin samples the server at rest and starts the workers.
func (r *runner) begin(ctx context.Context, sp spec) (*fleet, *stats.Result, error) {
	procs := r.o.Procs
	conc := sp.conns
	if sp.life > 0 {
		conc = int(math.Ceil(r.o.Rate*(sp.life+2*time.Second).Seconds())) + 1
	}
	if procs == 0 {
		procs = max(1, (min(conc, sp.conns)+maxConnsPerProc-1)/maxConnsPerProc)
	}
	if err := checkLimits(sp, r.o.SourceIPs, procs, conc, r.stderr); err != nil {
		return nil, nil, err
	}
	rooms := sp.slugs
	if len(sp.embeds) > 0 {
		rooms = make([]string, len(sp.embeds))
		for i, pg := range sp.embeds {
			rooms[i] = pg.URL
		}
	}
	res := &stats.Result{Label: sp.label, Scenario: r.o.Scenario, Targets: sp.targets, Posts: rooms, PostN: len(rooms),
		Readers: sp.conns, Procs: procs, Rate: sp.rate, Raw: stats.Raw{Sampler: sp.sampler}}
	if len(sp.embeds) > 0 {
		res.Sites = r.o.EmbedSites
	}
	if len(sp.seats) > 0 {
		res.Zipf, res.Place = r.o.Zipf, r.o.Place
		res.Placement = make(map[string][]int, len(sp.slugs))
		for p, n := range placement(sp.seats, len(sp.slugs), len(sp.targets)) {
			res.Placement[sp.slugs[p]] = n
		}
	}
	if len(rooms) > 20 {
		res.Posts = append(append([]string{}, rooms[:20]...), fmt.Sprintf("… %d in all", len(rooms)))
	}
	res.Raw.Before = sp.sampler.Sample(ctx)
	now := time.Now()
	plan := wsclient.Plan{
		Conns:     sp.conns,
		Start:     now.Add(200 * time.Millisecond), // lets worker processes start first
		Spread:    sp.spread,
		Rate:      sp.rate,
		Life:      sp.life,
		Targets:   sp.targets,
		Slugs:     sp.slugs,
		Embeds:    sp.embeds,
		Seats:     sp.seats,
		SourceIPs: r.o.SourceIPs,
		Deadline:  now.Add(sp.spread + r.o.Duration + sp.life + 2*time.Minute),
	}
	if procs > 1 {
		plan.CPUProfile = r.o.CPUProfile
	}
	if d, ok := ctx.Deadline(); ok && d.Before(plan.Deadline) {
		plan.Deadline = d
	}
	fl, err := startFleet(ctx, plan, procs, r.stderr)
	if err != nil {
		return nil, nil, err
	}
	r.prog = stats.NewProgress(r.stdout, sp.label, sp.conns)
	return fl, res, nil
}

// checkLimits refuses runs that cannot work on this machine, saying why,
// and warns of those that will hit a limit of the network or the server.
func checkLimits(sp spec, sources []string, procs, conc int, stderr io.Writer) error {
	perProc := (conc + procs - 1) / procs
	if lim, err := wsclient.RaiseFileLimit(); err == nil && uint64(perProc)+100 > lim {
		return fmt.Errorf("%d connections per process but the open-file limit is %d: use --procs %d or more",
			perProc, lim, (conc+int(lim)-101)/(int(lim)-100))
	}
	perTarget := (min(conc, sp.conns) + len(sp.targets) - 1) / len(sp.targets)
	perSource := (perTarget + max(1, len(sources)) - 1) / max(1, len(sources))
	if ports := ephemeralPorts(); ports > 0 && perSource > ports {
		fmt.Fprintf(stderr, "readtag-load: warning: %d connections to one server from one address exceed the %d "+
			"ephemeral ports; pass --source-ips 127.0.0.1,127.0.0.2,... (one address per %d connections)\n",
			perSource, ports, ports)
	}
	if perTarget > 19000 {
		fmt.Fprintf(stderr, "readtag-load: warning: %d connections to one server: a server process limited to "+
			"20,000 open files will refuse some\n", perTarget)
	}
	return nil
}

// ephemeralPorts is the size of the local port range (0 if unknown).
func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0
	}
	return hi - lo + 1
}

// waitJoined waits until every connection has been welcomed or has failed.
func (r *runner) waitJoined(ctx context.Context, fl *fleet, sp spec) error {
	n := int64(sp.conns)
	joined, err := r.wait(ctx, fl, sp, sp.spread+wsclient.DialTimeout+wsclient.WelcomeTimeout+5*time.Second, func(s stats.Stats) bool {
		return s.Welcomed+s.Failed >= n
	})
	if err != nil {
		return err
	}
	if !joined {
		s := fl.snapshot()
		fmt.Fprintf(r.stderr, "readtag-load: only %d of %d readers resolved (welcomed or failed) in time; measuring anyway\n",
			s.Welcomed+s.Failed, n)
	}
	return nil
}

// measure counts into the window for d (or until done reports true, polled
// every 250 ms), sampling the server at both ends.
func (r *runner) measure(ctx context.Context, fl *fleet, res *stats.Result, sp spec, d time.Duration, done func() (bool, error)) error {
	w0 := r.openWindow(ctx, fl, res, sp)
	var err error
	if done == nil {
		_, err = r.wait(ctx, fl, sp, d, nil)
	} else {
		err = r.poll(ctx, fl, sp, w0.Add(d), done)
	}
	r.closeWindow(ctx, fl, res, sp, w0)
	return err
}

// poll calls done every 250 ms until it reports true, fails, or deadline.
func (r *runner) poll(ctx context.Context, fl *fleet, sp spec, deadline time.Time, done func() (bool, error)) error {
	for {
		ok, err := done()
		if ok || err != nil || !time.Now().Before(deadline) {
			return err
		}
		if _, err = r.wait(ctx, fl, sp, min(250*time.Millisecond, time.Until(deadline)), nil); err != nil {
			return err
		}
	}
}

// openWindow starts counting into the measured window.
func (r *runner) openWindow(ctx context.Context, fl *fleet, res *stats.Result, sp spec) time.Time {
	res.Raw.Window0 = sp.sampler.Sample(ctx)
	fl.measure(true)
	res.Raw.CPU0 = fl.snapshot().CPUTicks
	return time.Now()
}

// closeWindow stops counting and notes how long the window was open.
func (r *runner) closeWindow(ctx context.Context, fl *fleet, res *stats.Result, sp spec, w0 time.Time) {
	fl.measure(false)
	res.Raw.Window = time.Since(w0)
	res.Raw.Window1 = sp.sampler.Sample(ctx)
	end := fl.snapshot()
	res.Raw.OpenAtEnd, res.Raw.CPU1 = end.Open, end.CPUTicks
}

// wait polls the fleet until cond holds, max passes, ctx ends or a worker
// dies, printing progress and sampling the server once a second.
func (r *runner) wait(ctx context.Context, fl *fleet, sp spec, maxWait time.Duration, cond func(stats.Stats) bool) (bool, error) {
	deadline := time.Now().Add(maxWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		// A snapshot merges every shard's histograms: take one only when
		// something reads it, not on every tick (it cost the tool 5 % of
		// its CPU in a 1,000-reader hot run).
		due := r.prog.Due()
		var st stats.Stats
		if due || cond != nil {
			st = fl.snapshot()
		}
		if due {
			r.prog.Print(st)
		}
		if sp.sampler.Due() {
			sp.sampler.Sample(ctx)
		}
		if err := fl.failure(); err != nil {
			return false, err
		}
		if cond != nil && cond(st) {
			return true, nil
		}
		if !time.Now().Before(deadline) {
			return false, nil
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("interrupted: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// stopFleet stops the workers within its own bounds (ctx may be done).
func (r *runner) stopFleet(fl *fleet) (stats.Stats, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return fl.stop(ctx)
}

// settle waits (at most 10 s) for the server to drop to its earlier number
// of readers and goroutines, then takes the "after" sample.
func (r *runner) settle(ctx context.Context, sp spec, res *stats.Result) {
	before := res.Raw.Before
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := sp.sampler.Sample(ctx)
		res.Raw.After = s
		settled := true
		if s.Readers != nil && before.Readers != nil && *s.Readers > *before.Readers {
			settled = false
		}
		if s.Goroutines != nil && before.Goroutines != nil && *s.Goroutines > *before.Goroutines+5 {
			settled = false
		}
		if !sp.sampler.Enabled() || settled || !time.Now().Before(deadline) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// finish stops the workers (unless done already), fills in res and ends the
// progress line.
func (r *runner) finish(fl *fleet, res *stats.Result, err error) (*stats.Result, error) {
	if res.Raw.Final == nil {
		st, serr := r.stopFleet(fl)
		res.Raw.Final = &st
		err = errors.Join(err, serr)
	}
	r.prog.End()
	if res.Raw.After.At.IsZero() && res.Raw.Sampler != nil {
		res.Raw.After = res.Raw.Sampler.Sample(context.Background())
	}
	res.Fill()
	if err != nil {
		res.Error = err.Error()
	}
	return res, err
}

// checkViews compares every reader's view with the room: each must show
// exactly the other open, welcomed readers of its post. A post in crowd
// mode (any of its readers got a crowd frame) shows each reader only a few
// others, so there each view must be no larger than the room, and the total
// the server announced must be the room's size.
func checkViews(views []wsclient.View, pending int) *stats.ViewsReport {
	vr := &stats.ViewsReport{Checked: len(views), Pending: pending}
	type room struct {
		n     int
		x     uint64
		crowd bool
	}
	rooms := map[string]*room{}
	ids := map[string]int{}
	for _, v := range views {
		rm := rooms[v.Post]
		if rm == nil {
			rm = &room{}
			rooms[v.Post] = rm
		}
		rm.n++
		rm.x ^= protocol.IDHash([]byte(v.ID))
		rm.crowd = rm.crowd || v.Crowd
		ids[v.ID]++
	}
	for id, n := range ids {
		if n > 1 {
			vr.DuplicateIDs++
			vr.Examples = append(vr.Examples, fmt.Sprintf("id %s was given to %d readers", id, n))
		}
	}
	for _, rm := range rooms {
		if rm.crowd {
			vr.CrowdPosts++
		}
	}
	var bad []string
	for _, v := range views {
		rm := rooms[v.Post]
		wantN, wantX := rm.n-1, rm.x^protocol.IDHash([]byte(v.ID))
		var why string
		switch {
		case rm.crowd && v.Count > wantN:
			why = fmt.Sprintf("reader %s on %s (crowd) shows %d readers, but only %d others are there", v.ID, v.Post, v.Count, wantN)
		case rm.crowd && v.Crowd && v.Total != rm.n:
			why = fmt.Sprintf("reader %s on %s (crowd) was told of %d readers, but %d are there", v.ID, v.Post, v.Total, rm.n)
		case rm.crowd:
		case v.Count < wantN:
			why = fmt.Sprintf("reader %s on %s sees %d of the %d others", v.ID, v.Post, v.Count, wantN)
		case v.Count > wantN:
			why = fmt.Sprintf("reader %s on %s sees %d readers, but only %d others are there", v.ID, v.Post, v.Count, wantN)
		case v.XOR != wantX:
			why = fmt.Sprintf("reader %s on %s sees %d readers, but not the right ones", v.ID, v.Post, v.Count)
		}
		if why != "" {
			vr.Mismatches++
			bad = append(bad, why)
		}
	}
	sort.Strings(bad)
	if len(bad) > 10 {
		bad = append(bad[:10], fmt.Sprintf("… and %d more", len(bad)-10))
	}
	vr.Examples = append(vr.Examples, bad...)
	vr.Agree = vr.Mismatches == 0 && vr.DuplicateIDs == 0 && pending == 0 && len(views) > 0
	return vr
}
