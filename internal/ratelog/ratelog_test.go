package ratelog

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
)

func lines(buf *testutil.SyncBuffer, substr string) []string {
	var out []string
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// TestEpisode: of 10,000 lines from 8 goroutines, the first is logged, the
// rest counted in one summary line; once the episode has ended, the next
// line is logged again.
func TestEpisode(t *testing.T) {
	buf := &testutil.SyncBuffer{}
	l := New(slog.New(slog.NewTextHandler(buf, nil)), 200*time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1250 {
				l.Warn("flood", "peer sent junk", "n", g*1250+i)
			}
		}()
	}
	wg.Wait()
	// One summary an interval while the flood lasts (one, unless the machine
	// is slow enough for the flood to outlast 200 ms): together they count
	// every line but the first.
	counted := func() int {
		n := 0
		for _, l := range lines(buf, "more_like_this=") {
			var k int
			if _, err := fmt.Sscanf(l[strings.Index(l, "more_like_this="):], "more_like_this=%d", &k); err == nil {
				n += k
			}
		}
		return n
	}
	testutil.Eventually(t, "the summary lines to count 9,999", func() bool { return counted() == 9999 })
	got := lines(buf, "peer sent junk")
	if first := got[0]; strings.Contains(first, "more_like_this") || len(got)-len(lines(buf, "more_like_this=")) != 1 {
		t.Fatalf("want one line logged and the rest in summaries, got:\n%s", strings.Join(got, "\n"))
	}
	for _, l := range lines(buf, "more_like_this=") {
		if !strings.Contains(l, "in=200ms") {
			t.Fatalf("a summary without its interval: %s", l)
		}
	}
	// The episode ends after an interval with nothing; the next line is news.
	testutil.Eventually(t, "the episode to end", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.episodes) == 0
	})
	l.Warn("flood", "peer sent junk", "n", "again")
	if got := lines(buf, "n=again"); len(got) != 1 {
		t.Fatalf("after the episode: %q", got)
	}
}

// TestKeys: keys are limited separately; an empty key is the message;
// beyond maxKeys, lines are counted under their message.
func TestKeys(t *testing.T) {
	buf := &testutil.SyncBuffer{}
	l := New(slog.New(slog.NewTextHandler(buf, nil)), time.Hour)
	l.Info("b", "peer up", "peer", "b")
	l.Info("c", "peer up", "peer", "c")
	l.Info("c", "peer up", "peer", "c")
	l.Info("", "membership")
	l.Info("", "membership")
	if n := len(lines(buf, "peer up")); n != 2 {
		t.Fatalf("%d lines for two peers:\n%s", n, buf)
	}
	if n := len(lines(buf, "membership")); n != 1 {
		t.Fatalf("%d lines for one message:\n%s", n, buf)
	}
	for i := range 10 * maxKeys {
		l.Warn(fmt.Sprint("k", i), "many keys")
	}
	if n := len(lines(buf, "many keys")); n > maxKeys {
		t.Fatalf("%d lines for %d keys, want at most %d", n, 10*maxKeys, maxKeys)
	}
}

// TestSummaryTime: a summary carries the last counted line's fields and
// when that line came, which may be well before the summary.
func TestSummaryTime(t *testing.T) {
	buf := &testutil.SyncBuffer{}
	l := New(slog.New(slog.NewJSONHandler(buf, nil)), 300*time.Millisecond)
	l.Warn("ready", "node not ready", "missing", "b")
	before := time.Now()
	l.Warn("ready", "node not ready", "missing", "c")
	after := time.Now()
	testutil.Eventually(t, "the summary", func() bool { return len(lines(buf, "more_like_this")) == 1 })
	var s struct {
		Time     time.Time `json:"time"`
		Latest   time.Time `json:"latest_at"`
		Missing  string    `json:"missing"`
		LikeThis int       `json:"more_like_this"`
	}
	if err := json.Unmarshal([]byte(lines(buf, "more_like_this")[0]), &s); err != nil {
		t.Fatal(err)
	}
	if s.Missing != "c" || s.LikeThis != 1 {
		t.Errorf("summary %+v, want the last line's fields (missing c) and a count of 1", s)
	}
	if s.Latest.Before(before.Add(-time.Millisecond)) || s.Latest.After(after.Add(time.Millisecond)) || !s.Latest.Before(s.Time) {
		t.Errorf("latest_at %v, want the time of the last line (between %v and %v), before the summary's %v", s.Latest, before, after, s.Time)
	}
}
