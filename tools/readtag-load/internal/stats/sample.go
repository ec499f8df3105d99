package stats

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat. It is 100
// on every Linux architecture Go runs on (the stdlib has no sysconf).
const clockTicks = 100

// ServerSample is one look at the server process.
type ServerSample struct {
	At time.Time `json:"at"`
	// From /proc/PID (with --pid).
	RSS      int64 `json:"rss_bytes,omitempty"`
	Threads  int64 `json:"threads,omitempty"`
	CPUTicks int64 `json:"cpu_ticks,omitempty"`
	HasProc  bool  `json:"has_proc"`
	// From the Prometheus endpoint (with --metrics), where present.
	Goroutines    *float64 `json:"goroutines,omitempty"`
	MetricsRSS    *float64 `json:"metrics_rss_bytes,omitempty"`
	Readers       *float64 `json:"readers,omitempty"`
	MetricsFailed string   `json:"metrics_error,omitempty"`
}

// rss is the best resident-memory figure the sample has.
func (s ServerSample) rss() (int64, bool) {
	if s.HasProc {
		return s.RSS, true
	}
	if s.MetricsRSS != nil {
		return int64(*s.MetricsRSS), true
	}
	return 0, false
}

// Sampler reads the server's process and metrics, whichever it was given.
// A nil Sampler samples nothing.
type Sampler struct {
	pid     int
	metrics string
	client  *http.Client
	samples []ServerSample // the series, for the JSON
}

// NewSampler samples the process pid (0: none) and the Prometheus endpoint
// metrics ("": none).
func NewSampler(pid int, metrics string) *Sampler {
	return &Sampler{pid: pid, metrics: metrics, client: &http.Client{Timeout: 2 * time.Second}}
}

// Enabled reports whether the sampler has anything to sample.
func (s *Sampler) Enabled() bool { return s != nil && (s.pid > 0 || s.metrics != "") }

// PID is the process sampled, 0 if none.
func (s *Sampler) PID() int {
	if s == nil {
		return 0
	}
	return s.pid
}

// Due reports whether a second has passed since the last sample: the series
// in the JSON has one sample a second.
func (s *Sampler) Due() bool {
	return s.Enabled() && (len(s.samples) == 0 || time.Since(s.samples[len(s.samples)-1].At) >= time.Second)
}

// Sample takes one sample and keeps it in the series.
func (s *Sampler) Sample(ctx context.Context) ServerSample {
	smp := ServerSample{At: time.Now()}
	if !s.Enabled() {
		return smp
	}
	if s.pid > 0 {
		if st, err := readProcStatus(s.pid); err == nil {
			smp.RSS, smp.Threads, smp.HasProc = st.rss, st.threads, true
			smp.CPUTicks, _ = readCPUTicks(fmt.Sprintf("/proc/%d/stat", s.pid))
		}
	}
	if s.metrics != "" {
		m, err := s.scrape(ctx)
		if err != nil {
			smp.MetricsFailed = err.Error()
		} else {
			smp.Goroutines = m["go_goroutines"]
			smp.MetricsRSS = m["process_resident_memory_bytes"]
			smp.Readers = m["readtag_readers"]
		}
	}
	s.samples = append(s.samples, smp)
	return smp
}

type procStatus struct{ rss, threads int64 }

// readProcStatus reads VmRSS and Threads from /proc/PID/status.
func readProcStatus(pid int) (procStatus, error) {
	var st procStatus
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			st.rss = n * 1024 // reported in kB
		case "Threads":
			st.threads = n
		}
	}
	return st, sc.Err()
}

// readCPUTicks returns utime+stime from a /proc/.../stat file.
func readCPUTicks(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(b))
}

// parseStatTicks reads fields 14 and 15 of /proc/PID/stat. The command name
// (field 2) may hold spaces and parentheses, so count from the last ')'.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed stat")
	}
	return u + s, nil
}

// SelfCPUTicks is this process's CPU time so far (0 where /proc is absent).
func SelfCPUTicks() int64 {
	t, _ := readCPUTicks("/proc/self/stat")
	return t
}

// CPUPercent is the CPU used between two tick readings over wall time d, in
// percent of one core.
func CPUPercent(ticks int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(ticks) / clockTicks / d.Seconds() * 100
}

// scrape reads the Prometheus text endpoint and sums the series of the
// metrics we know, by name; other lines are ignored.
func (s *Sampler) scrape(ctx context.Context) (map[string]*float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.metrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", s.metrics, resp.StatusCode)
	}
	return parseMetrics(io.LimitReader(resp.Body, 16<<20))
}

// parseMetrics reads "name{labels} value [timestamp]" lines.
func parseMetrics(r io.Reader) (map[string]*float64, error) {
	want := map[string]bool{"go_goroutines": true, "process_resident_memory_bytes": true, "readtag_readers": true}
	out := make(map[string]*float64)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if !want[name] {
			continue
		}
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				continue
			}
			rest = rest[j+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		if out[name] == nil {
			out[name] = new(float64)
		}
		*out[name] += v
	}
	return out, sc.Err()
}

// ResolvePID follows `go run`: the process a user sees is the go command,
// and the server is its only child. Anything else is returned as it is.
func ResolvePID(pid int) (int, bool) {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return pid, false
	}
	// Each thread lists the children it started; the go command starts
	// the program from whichever thread runs that goroutine.
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			kids = append(kids, strings.Fields(string(b))...)
		}
	}
	if len(kids) != 1 {
		return pid, false
	}
	child, err := strconv.Atoi(kids[0])
	if err != nil {
		return pid, false
	}
	return child, true
}

// settleWindow is how many consecutive one-second samples RSSSettled
// compares with the one before them.
const settleWindow = 3

// RSSSettled reports whether the last settleWindow+1 RSS samples (one a
// second) lie within 0.5% (at least 256 KiB) of each other.
func RSSSettled(samples []ServerSample) bool {
	if len(samples) < settleWindow+1 {
		return false
	}
	last := samples[len(samples)-settleWindow-1:]
	var rss []int64
	for _, s := range last {
		v, ok := s.rss()
		if !ok {
			return false
		}
		rss = append(rss, v)
	}
	lo, hi := slices.Min(rss), slices.Max(rss)
	return hi-lo <= max(hi/200, 256<<10)
}
