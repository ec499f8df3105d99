package posts

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingFS counts the stats made through it.
type countingFS struct {
	fs.FS
	stats atomic.Int64
}

func (c *countingFS) Stat(name string) (fs.FileInfo, error) {
	c.stats.Add(1)
	return fs.Stat(c.FS, name)
}

// bigFolder is a live library of n good posts, p0.md to p<n-1>.md, all
// saved an hour ago, read through a countingFS.
func bigFolder(t *testing.T, n int) (*Library, *countingFS, func(i int, title string, mod time.Time)) {
	t.Helper()
	dir := t.TempDir()
	save := func(i int, title string, mod time.Time) {
		t.Helper()
		file := filepath.Join(dir, fmt.Sprintf("p%d.md", i))
		if err := os.WriteFile(file, []byte(strings.Replace(good, "title: Hello", "title: "+title, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		save(i, "Hello", time.Now().Add(-time.Hour))
	}
	cfs := &countingFS{FS: os.DirFS(dir)}
	l, err := Open(cfs, true)
	if err != nil {
		t.Fatal(err)
	}
	return l, cfs, save
}

// watchTurns is a new watcher of l, a function that takes its next turn
// (WatchEvery after the last) and reports the stats it made, and the time
// of its last turn, which a test may move on.
func watchTurns(l *Library, cfs *countingFS) (*watcher, func() int64, *time.Time) {
	w := &watcher{hot: make(map[string]time.Time)}
	now := time.Now()
	return w, func() int64 {
		before := cfs.stats.Load()
		now = now.Add(WatchEvery)
		l.watchTurn(w, now)
		return cfs.stats.Load() - before
	}, &now
}

func title(t *testing.T, l *Library, slug string) string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cache[slug+".md"]
	if c.post == nil {
		return ""
	}
	return c.post.Title
}

// The watcher of a big folder looks at watchBatch files a turn, so a save
// in it is parsed within a round of turns; a file that changed is hot and
// looked at every turn from then on.
func TestWatchBigFolderInTurns(t *testing.T) {
	const n = 4 * watchBatch
	l, cfs, save := bigFolder(t, n)
	w, turn, now := watchTurns(l, cfs)
	// A round: each turn stats its batch, not the folder.
	for i := range n / watchBatch {
		if s := turn(); s > watchBatch {
			t.Fatalf("turn %d of a %d-post folder made %d stats, want at most %d", i, n, s, watchBatch)
		}
	}
	// A save anywhere is parsed within a round.
	save(n-3, "Saved", time.Now().Add(-time.Minute))
	turns := 0
	for title(t, l, fmt.Sprint("p", n-3)) != "Saved" {
		if turns++; turns > n/watchBatch {
			t.Fatalf("a save not parsed within a round (%d turns)", n/watchBatch)
		}
		turn()
	}
	// Hot now: the next save is parsed at the next turn, wherever the
	// round is.
	save(n-3, "Again", time.Now())
	turn()
	if got := title(t, l, fmt.Sprint("p", n-3)); got != "Again" {
		t.Fatalf("a hot file's save not parsed at the next turn: title %q", got)
	}
	// A save a request parsed first (the author reloading the page) makes
	// the file hot all the same.
	save(7, "Read", time.Now())
	if _, err := l.Get("p7"); err != nil {
		t.Fatal(err)
	}
	for range n / watchBatch {
		turn()
	}
	if _, ok := w.hot["p7.md"]; !ok {
		t.Error("a file saved a moment ago, parsed by a request first, is not hot")
	}
	// After hotFor it is a file like the others again.
	*now = now.Add(hotFor + time.Second)
	turn()
	for _, name := range []string{fmt.Sprintf("p%d.md", n-3), "p7.md"} {
		if _, ok := w.hot[name]; ok {
			t.Errorf("%s still hot after hotFor", name)
		}
	}
}

// A deploy writes every file of the folder at once: at most maxHot of them
// are hot, so a turn still makes at most watchBatch + maxHot stats, and an
// author's save after it is hot at once, in place of one of them.
func TestWatchDeployedFolderBoundsHot(t *testing.T) {
	const n = 4 * watchBatch
	l, cfs, save := bigFolder(t, n)
	deployed := time.Now().Add(-time.Minute)
	for i := range n {
		save(i, "Deployed", deployed)
	}
	w, turn, _ := watchTurns(l, cfs)
	for i := range 3 * n / watchBatch {
		if s := turn(); s > watchBatch+maxHot {
			t.Fatalf("turn %d after a deploy made %d stats, want at most %d", i, s, watchBatch+maxHot)
		}
		if len(w.hot) > maxHot {
			t.Fatalf("turn %d after a deploy: %d files hot, want at most %d", i, len(w.hot), maxHot)
		}
	}
	if len(w.hot) != maxHot {
		t.Errorf("%d files hot after a deploy of %d saved a minute ago, want %d", len(w.hot), n, maxHot)
	}
	// Saved again now: newer than every deployed file, so it is hot and
	// looked at every turn.
	save(n-1, "Edited", time.Now())
	for turns := 0; title(t, l, fmt.Sprint("p", n-1)) != "Edited"; turns++ {
		if turns > n/watchBatch {
			t.Fatalf("the edit not parsed within a round")
		}
		turn()
	}
	if _, ok := w.hot[fmt.Sprintf("p%d.md", n-1)]; !ok {
		t.Fatal("a file edited after the deploy is not hot")
	}
	save(n-1, "Again", time.Now())
	turn()
	if got := title(t, l, fmt.Sprint("p", n-1)); got != "Again" {
		t.Errorf("the edited file's next save not parsed at the next turn: title %q", got)
	}
}

// A flood of requests for posts that do not exist costs at most one scan of
// the folder per round, not one per request.
func TestNotFoundScanBounded(t *testing.T) {
	const n = 4 * watchBatch
	l, cfs, _ := bigFolder(t, n)
	before := cfs.stats.Load()
	for i := range 1000 {
		if _, err := l.Get(fmt.Sprint("missing-", i)); err == nil {
			t.Fatal("a missing post was found")
		}
	}
	// 1,000 loads of the missing file, and one scan.
	if s := cfs.stats.Load() - before; s > 1000+n {
		t.Errorf("1,000 requests for missing posts made %d stats in a %d-post folder, want at most %d", s, n, 1000+n)
	}
}
