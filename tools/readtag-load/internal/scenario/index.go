package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/readtag/readtag/tools/readtag-load/internal/stats"
	"github.com/readtag/readtag/tools/readtag-load/internal/target"
)

// The index scenario: --watchers index visitors on /ws/index while --readers
// readers sit on posts and --rate of them a second leave and come back on
// another post (so that counts change every second, the watchers' worst
// case). Every few seconds a probe reader joins and leaves the first post;
// the time until each watcher shows the new count is the scenario's latency.
// It runs in this one process (no workers): it is for thousands, not
// hundreds of thousands, of connections.

// IndexResult is the index scenario's outcome (also its JSON).
type IndexResult struct {
	Machine       stats.Machine   `json:"machine"`
	Args          []string        `json:"args"`
	Readers       int             `json:"readers"`
	Watchers      int             `json:"watchers"`
	ChurnPerSec   float64         `json:"churn_per_second"`
	Window        string          `json:"window"`
	ConnectErrors int64           `json:"connect_errors"`
	DroppedConns  int64           `json:"dropped_connections"`    // ended without the tool closing them, during setup or the window
	DropReasons   []string        `json:"drop_reasons,omitempty"` // the first few
	FramesPerSec  float64         `json:"frames_per_watcher_per_second"`
	MinGapMs      int64           `json:"shortest_gap_between_frames_ms"` // any watcher, during the window
	BytesPerFrame float64         `json:"bytes_per_frame"`
	BytesPerSec   float64         `json:"bytes_per_second_all_watchers"`
	Probes        int             `json:"probes"`
	JoinLatency   stats.Histogram `json:"join_latency_ms"`
	LeaveLatency  stats.Histogram `json:"leave_latency_ms"`
	Missed        int64           `json:"probe_misses"` // watchers that never showed a probe's change within 10 s
	Server        *ServerWindow   `json:"server,omitempty"`
}

// ServerWindow is the server process over the window (--pid).
type ServerWindow struct {
	CPUPercent float64 `json:"cpu_percent"`
	RSSBytes   int64   `json:"rss_bytes_end"`
	Threads    int64   `json:"threads_end"`
}

type watcher struct {
	frames, bytes atomic.Int64
	last          atomic.Int64 // unix ns of the latest frame
	minGap        atomic.Int64 // ns, during the window; 0: fewer than two frames
	probe         atomic.Int64 // the probe post's count in the latest frame
	ended         atomic.Bool  // its connection ended (counted in DroppedConns)
	changed       atomic.Int64 // unix ns when probe last changed
}

func (r *runner) index(ctx context.Context) error {
	o := r.o
	base := o.Targets[0]
	slugs, err := target.Check(ctx, base)
	if err != nil {
		return err
	}
	if len(slugs) < 2 {
		return fmt.Errorf("target %s lists %d posts; the index scenario needs at least 2", base, len(slugs))
	}
	probeSlug, others := slugs[0], slugs[1:]
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	hdr := http.Header{"Origin": {base}}
	dialer := &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 512}
	res := &IndexResult{Args: o.Args, Readers: o.Readers, Watchers: o.Watchers, ChurnPerSec: o.Rate, Window: o.Duration.String()}
	res.Machine = machine()
	var connectErrs, dropped atomic.Int64
	var measuring, closing atomic.Bool
	var reasonsMu sync.Mutex
	var reasons []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []*websocket.Conn
	defer func() {
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	// dial opens a socket and drains it on a goroutine; onFrame may be nil.
	dial := func(url string, onFrame func([]byte), onEnd func()) *websocket.Conn {
		c, resp, err := dialer.DialContext(ctx, url, hdr)
		if err != nil {
			if connectErrs.Add(1) <= 3 {
				status := 0
				if resp != nil {
					status = resp.StatusCode
				}
				fmt.Fprintf(r.stderr, "index: dial %s: %v (HTTP %d)\n", url, err, status)
			}
			return nil
		}
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
		// gorilla's own pong has a 1 s deadline, which a starved machine
		// misses; the server waits 12 s for it.
		c.SetPingHandler(func(data string) error {
			err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(10*time.Second))
			if errors.Is(err, websocket.ErrCloseSent) {
				return nil
			}
			return err
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					if onEnd != nil {
						onEnd()
					}
					var ce *websocket.CloseError
					if !closing.Load() && !(errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure) {
						if dropped.Add(1) <= 5 {
							reasonsMu.Lock()
							reasons = append(reasons, fmt.Sprintf("%s: %v", url, err))
							reasonsMu.Unlock()
						}
					}
					return
				}
				if onFrame != nil {
					onFrame(data)
				}
			}
		}()
		return c
	}
	pace := func(n int) { // spread one group's connects over --ramp
		if o.Ramp > 0 && n > 0 {
			time.Sleep(min(o.Ramp, o.Ramp*dialers/time.Duration(n)))
		}
	}

	watchers := make([]*watcher, o.Watchers)
	for i := range watchers {
		watchers[i] = &watcher{}
	}
	parallel(ctx, len(watchers), func(i int) {
		w := watchers[i]
		dial(wsBase+"/ws/index", func(data []byte) {
			var f struct {
				Counts map[string]int64 `json:"counts"`
			}
			_ = json.Unmarshal(data, &f)
			w.frames.Add(1)
			w.bytes.Add(int64(len(data)))
			now := time.Now().UnixNano()
			if prev := w.last.Swap(now); prev > 0 && measuring.Load() {
				if g := w.minGap.Load(); g == 0 || now-prev < g {
					w.minGap.Store(now - prev)
				}
			}
			if p := f.Counts[probeSlug]; p != w.probe.Load() {
				w.probe.Store(p)
				w.changed.Store(time.Now().UnixNano())
			}
		}, func() { w.ended.Store(true) })
		pace(len(watchers))
	})
	fmt.Fprintf(r.stderr, "index: %d watchers open\n", o.Watchers)
	readers := make([]*websocket.Conn, o.Readers)
	parallel(ctx, len(readers), func(i int) {
		readers[i] = dial(wsBase+"/ws/posts/"+others[i%len(others)], nil, nil)
		pace(len(readers))
	})
	fmt.Fprintf(r.stderr, "index: %d readers open (%d connect errors so far)\n", o.Readers, connectErrs.Load())

	smp := stats.NewSampler(o.PID, "")
	first := smp.Sample(ctx)
	for _, w := range watchers {
		w.frames.Store(0)
		w.bytes.Store(0)
		w.minGap.Store(0)
	}
	measuring.Store(true)
	start := time.Now()
	deadline := start.Add(o.Duration)
	stopChurn := make(chan struct{})
	churnDone := make(chan struct{})
	go func() { // churn
		defer close(churnDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopChurn:
				return
			case <-tick.C:
			}
			for range int(o.Rate) {
				i := rand.IntN(len(readers))
				if readers[i] != nil {
					_ = readers[i].WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
				}
				readers[i] = dial(wsBase+"/ws/posts/"+others[rand.IntN(len(others))], nil, nil)
			}
		}
	}()
	// probe waits for every watcher to show want on the probe post and
	// records how long each took from since.
	probe := func(h *stats.Histogram, want int64, since time.Time) {
		limit := time.Now().Add(10 * time.Second)
		pending := make(map[*watcher]bool, len(watchers))
		for _, w := range watchers {
			if !w.ended.Load() { // a dead watcher is reported as dropped, not as a miss
				pending[w] = true
			}
		}
		for len(pending) > 0 && time.Now().Before(limit) && ctx.Err() == nil {
			for w := range pending {
				if w.probe.Load() == want {
					h.Record(max(0, time.Unix(0, w.changed.Load()).Sub(since).Milliseconds()))
					delete(pending, w)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		res.Missed += int64(len(pending))
		for w := range pending {
			fmt.Fprintf(r.stderr, "index: a watcher shows %d, not %d, 10 s on; its last frame came %v ago\n",
				w.probe.Load(), want, time.Since(time.Unix(0, w.last.Load())).Round(time.Millisecond))
		}
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		c, _, err := dialer.DialContext(ctx, wsBase+"/ws/posts/"+probeSlug, hdr)
		if err != nil {
			connectErrs.Add(1)
			time.Sleep(time.Second)
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err = c.ReadMessage() // the welcome: the server has counted the reader
		joined := time.Now()
		if err == nil {
			probe(&res.JoinLatency, 1, joined)
		}
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
		_ = c.Close()
		probe(&res.LeaveLatency, 0, time.Now())
		res.Probes++
		time.Sleep(time.Duration(500+rand.IntN(1000)) * time.Millisecond) // out of phase with the server's tick
	}
	window := time.Since(start)
	close(stopChurn)
	<-churnDone
	measuring.Store(false)
	closing.Store(true)
	last := smp.Sample(ctx)

	var frames, bytes int64
	for _, w := range watchers {
		frames += w.frames.Load()
		bytes += w.bytes.Load()
		if g := w.minGap.Load() / 1e6; g > 0 && (res.MinGapMs == 0 || g < res.MinGapMs) {
			res.MinGapMs = g
		}
	}
	res.ConnectErrors, res.DroppedConns = connectErrs.Load(), dropped.Load()
	reasonsMu.Lock()
	res.DropReasons = reasons
	reasonsMu.Unlock()
	res.FramesPerSec = float64(frames) / float64(len(watchers)) / window.Seconds()
	if frames > 0 {
		res.BytesPerFrame = float64(bytes) / float64(frames)
	}
	res.BytesPerSec = float64(bytes) / window.Seconds()
	if first.HasProc && last.HasProc {
		res.Server = &ServerWindow{CPUPercent: stats.CPUPercent(last.CPUTicks-first.CPUTicks, last.At.Sub(first.At)),
			RSSBytes: last.RSS, Threads: last.Threads}
	}
	printIndex(r.stdout, res)
	if o.JSONPath != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.JSONPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if res.Missed > 0 {
		return fmt.Errorf("%d times a watcher did not show a probe's change within 10 s: %w", res.Missed, errChecks)
	}
	return nil
}

func printIndex(w interface{ Write([]byte) (int, error) }, r *IndexResult) {
	fmt.Fprintf(w, "index: %d watchers, %d readers, %.0f readers/s churn, window %s\n", r.Watchers, r.Readers, r.ChurnPerSec, r.Window)
	fmt.Fprintf(w, "  connect errors %d, connections that ended on their own %d\n", r.ConnectErrors, r.DroppedConns)
	for _, why := range r.DropReasons {
		fmt.Fprintf(w, "    %s\n", why)
	}
	fmt.Fprintf(w, "  frames per watcher: %.2f/s (shortest gap between two: %d ms), %.0f bytes each, %.0f B/s to all watchers\n",
		r.FramesPerSec, r.MinGapMs, r.BytesPerFrame, r.BytesPerSec)
	fmt.Fprintf(w, "  %d probes; count shown after join: p50 %.0f ms, p99 %.0f ms, max %d ms; after leave: p50 %.0f ms, p99 %.0f ms, max %d ms; misses %d\n",
		r.Probes, r.JoinLatency.Quantile(0.5), r.JoinLatency.Quantile(0.99), r.JoinLatency.Max(),
		r.LeaveLatency.Quantile(0.5), r.LeaveLatency.Quantile(0.99), r.LeaveLatency.Max(), r.Missed)
	if r.Server != nil {
		fmt.Fprintf(w, "  server: %.1f%% CPU over the window, RSS %.0f MB, %d threads\n", r.Server.CPUPercent, float64(r.Server.RSSBytes)/1e6, r.Server.Threads)
	}
}

// dialers is how many connects the index scenario runs at once: a handshake
// can take longer than the ramp's pace on a busy machine.
const dialers = 16

// parallel runs f(0..n-1) on dialers goroutines.
func parallel(ctx context.Context, n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}
