package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/readtag/readtag"
)

// metrics are what GET /metrics serves, in Prometheus' text format.
type metrics struct {
	registry *prometheus.Registry

	connections prometheus.Gauge
	joins       prometheus.Counter
	leaves      *prometheus.CounterVec // by leaveReasons
	framesIn    prometheus.Counter
	bytesIn     prometheus.Counter
	framesOut   *prometheus.CounterVec // by type
	outByKind   [kindResume + 1]prometheus.Counter
	bytesOut    prometheus.Counter
	badFrames   prometheus.Counter
	coalesced   prometheus.Counter
	slowClosed  prometheus.Counter
	outboxDelay prometheus.Histogram
	// acceptToUpgrade is the server's own share of a WebSocket's handshake:
	// from accepting the TCP connection to admitting its upgrade. What a
	// client measures beyond it was spent in the kernel's listen queue or
	// on the wire (docs/perf/draft-storm.md).
	acceptToUpgrade prometheus.Histogram
	refused         *prometheus.CounterVec // by why: max_readers, max_readers_per_ip, max_rooms_per_site, http_conns, http_idle_evicted
	resume          *prometheus.CounterVec // by result: resumeResults
}

// Gauges the engine provides (cmd wires actors.Presence.Stats in).
type EngineStats func() (actors, panics, deadLetters int64)

func newMetrics(engine EngineStats, cluster func() readtag.ClusterStatus) *metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &metrics{
		registry:    r,
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "readtag_readers", Help: "Readers connected to this node (open WebSockets)."}),
		joins:       prometheus.NewCounter(prometheus.CounterOpts{Name: "readtag_joins_total", Help: "WebSockets opened."}),
		leaves:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "readtag_leaves_total", Help: "WebSockets closed, by who ended them."}, []string{"by"}),
		framesIn:    prometheus.NewCounter(prometheus.CounterOpts{Name: "readtag_frames_in_total", Help: "Frames received from clients."}),
		bytesIn:     prometheus.NewCounter(prometheus.CounterOpts{Name: "readtag_bytes_in_total", Help: "Payload bytes received from clients."}),
		framesOut:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "readtag_frames_out_total", Help: "Frames sent to clients, by type."}, []string{"type"}),
		bytesOut:    prometheus.NewCounter(prometheus.CounterOpts{Name: "readtag_bytes_out_total", Help: "Payload bytes sent to clients."}),
		badFrames:   prometheus.NewCounter(prometheus.CounterOpts{Name: "readtag_bad_frames_total", Help: "Client frames answered with an error frame."}),
		coalesced:   prometheus.NewCounter(prometheus.CounterOpts{Name: "readtag_coalesced_updates_total", Help: "Updates merged into one still waiting for a slow client."}),
		slowClosed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "readtag_slow_clients_closed_total", Help: "Clients closed for falling too far behind."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "readtag_refused_total",
			Help: "Connections refused or evicted by a cap, by which."}, []string{"why"}),
		resume: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "readtag_resume_total",
			Help: "Resume tokens sent with an upgrade, by result: kept (same reader), other_node (name and colour only), expired, invalid."}, []string{"result"}),
		outboxDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "readtag_fanout_delay_seconds",
			Help:    "From the engine handing an update to a connection to its frame being written.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		acceptToUpgrade: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "readtag_accept_to_upgrade_seconds",
			Help:    "From accepting a TCP connection to admitting its WebSocket upgrade.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	for _, c := range []prometheus.Collector{m.connections, m.joins, m.leaves, m.framesIn, m.bytesIn, m.framesOut,
		m.bytesOut, m.badFrames, m.coalesced, m.slowClosed, m.outboxDelay, m.acceptToUpgrade, m.refused, m.resume,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	// Every label value exists from the start, at 0, so that a series (and
	// its HELP and TYPE) does not appear only after its first event.
	for k := kindWelcome; k <= kindResume; k++ {
		m.outByKind[k] = m.framesOut.WithLabelValues(k.String())
	}
	for _, r := range resumeResults {
		m.resume.WithLabelValues(r)
	}
	for _, by := range leaveReasons {
		m.leaves.WithLabelValues(by)
	}
	if engine != nil {
		stat := func(i int) func() float64 {
			return func() float64 {
				a, p, d := engine()
				return float64([]int64{a, p, d}[i])
			}
		}
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "readtag_actors", Help: "Live actors readtag spawned (Hollywood)."}, stat(0)))
		f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "readtag_actor_panics_total", Help: "Panics recovered in actors."}, stat(1)))
		f(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "readtag_dead_letters_total", Help: "Messages to actors that were gone (Hollywood dead letters)."}, stat(2)))
	}
	if cluster != nil {
		f(clusterCollector(cluster))
	}
	return m
}

// handleMetrics serves GET /metrics.
func (s *Server) handleMetrics() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
}
