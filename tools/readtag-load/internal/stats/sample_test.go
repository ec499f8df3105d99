package stats

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
process_resident_memory_bytes 1.2345e+07
readtag_readers{post="a",node="n1"} 3
readtag_readers{post="b",node="n1"} 4 1700000000000
readtag_readers_total 99
other_metric 1
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if m["go_goroutines"] == nil || *m["go_goroutines"] != 42 {
		t.Errorf("go_goroutines %v", m["go_goroutines"])
	}
	if m["process_resident_memory_bytes"] == nil || *m["process_resident_memory_bytes"] != 12345000 {
		t.Errorf("rss %v", m["process_resident_memory_bytes"])
	}
	if m["readtag_readers"] == nil || *m["readtag_readers"] != 7 {
		t.Errorf("readtag_readers should sum its series to 7, got %v", m["readtag_readers"])
	}
	if _, ok := m["other_metric"]; ok {
		t.Error("kept a metric nobody asked for")
	}
	empty, err := parseMetrics(strings.NewReader("# nothing\n"))
	if err != nil || len(empty) != 0 {
		t.Errorf("empty endpoint: %v %v", empty, err)
	}
}

func TestParseStatTicks(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0"
	got, err := parseStatTicks(stat)
	if err != nil || got != 300 {
		t.Errorf("parseStatTicks = %d, %v; want 300", got, err)
	}
	if _, err := parseStatTicks("garbage"); err == nil {
		t.Error("accepted garbage")
	}
	if got := CPUPercent(150, 3*time.Second); got != 50 {
		t.Errorf("CPUPercent = %g, want 50", got)
	}
}

func TestSampleSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here")
	}
	s := NewSampler(os.Getpid(), "")
	smp := s.Sample(t.Context())
	if !smp.HasProc || smp.RSS <= 0 || smp.Threads <= 0 {
		t.Errorf("sample of this process: %+v", smp)
	}
	if p, ok := ResolvePID(os.Getpid()); ok || p != os.Getpid() {
		t.Errorf("ResolvePID changed a pid that is not `go run`: %d", p)
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
		if got := RSSSettled(tc.samples); got != tc.want {
			t.Errorf("RSSSettled(%v) = %v, want %v", tc.samples, got, tc.want)
		}
	}
}
