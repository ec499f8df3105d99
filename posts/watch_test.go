package posts

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readtag/readtag/internal/testutil"
)

func TestLiveReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.md")
	write := func(src string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	write(good, now.Add(-time.Hour))
	l, err := Open(os.DirFS(dir), true)
	if err != nil {
		t.Fatal(err)
	}
	write(strings.Replace(good, "title: Hello", "title: Hello again", 1), now.Add(-time.Minute))
	if p, err := l.Get("hello"); err != nil || p.Title != "Hello again" {
		t.Fatalf("after edit: %v, %v", p, err)
	}
	// Breaking the post keeps its last good version in the list and on its
	// page, marked with the reason, and logs the reason once (file, line).
	var logs bytes.Buffer
	l.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	write("---\ntitle: Hello\ndate: [oops\n---\n", now)
	p, err := l.Get("hello")
	if err != nil || p.Title != "Hello again" || p.Broken == nil ||
		!strings.Contains(p.Broken.Error(), "hello.md: line 3: front matter: did not find expected") {
		t.Fatalf("broken post: %+v, %v; want the last good version, marked broken", p, err)
	}
	if list, err := l.List(); err != nil || len(list) != 1 || list[0].Title != "Hello again" {
		t.Errorf("List with the only post broken: %v, %v; want its last good version", list, err)
	}
	if n := strings.Count(logs.String(), "post does not parse"); n != 1 ||
		!strings.Contains(logs.String(), "file=hello.md") || !strings.Contains(logs.String(), "serving=\"its last good version\"") {
		t.Errorf("want one log line naming the file, got:\n%s", logs.String())
	}
	// Mended, it is the new version again.
	write(strings.Replace(good, "title: Hello", "title: Mended", 1), now.Add(time.Minute))
	if p, err := l.Get("hello"); err != nil || p.Title != "Mended" || p.Broken != nil {
		t.Errorf("mended post: %+v, %v", p, err)
	}
	// A new file shows up without a restart.
	if err := os.WriteFile(filepath.Join(dir, "new.md"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get("new"); err != nil {
		t.Errorf("new post: %v", err)
	}
	// A new file that never parsed: its page is its error, the list leaves
	// it out, and the log says why.
	logs.Reset()
	if err := os.WriteFile(filepath.Join(dir, "fresh.md"), []byte("no front matter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get("fresh"); err == nil || !strings.Contains(err.Error(), "fresh.md: line 1: missing front matter") {
		t.Errorf("new broken post: %v", err)
	}
	if list, _ := l.List(); len(list) != 2 {
		t.Errorf("List: %v, want hello and new", list)
	}
	if n := strings.Count(logs.String(), "file=fresh.md"); n != 1 {
		t.Errorf("want one log line for fresh.md, got:\n%s", logs.String())
	}
	// A file whose name is no slug can never be served: the 404 for the
	// post its writer meant comes with a log line naming the file.
	logs.Reset()
	if err := os.WriteFile(filepath.Join(dir, "My Post.md"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get("my-post"); !errors.Is(err, ErrNotFound) {
		t.Errorf("my-post: %v, want ErrNotFound", err)
	}
	if !strings.Contains(logs.String(), `"My Post.md: file name is not a valid slug`) {
		t.Errorf("no log line for a file name that is no slug:\n%s", logs.String())
	}
}

// TestWatchKeepsLastGoodSave: a good save that is broken before anyone asks
// for the post is still its last good version, because the watcher parsed
// it when it was saved; and the broken save is logged when it is made.
func TestWatchKeepsLastGoodSave(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.md")
	write := func(src string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		// Distinct times: two saves within the file system's clock tick
		// would otherwise look like one.
		if err := os.Chtimes(file, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	write(good, now.Add(-time.Hour))
	l, err := Open(os.DirFS(dir), true)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	l.SetLogger(slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		l.Watch(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-watched
	})
	write(strings.Replace(good, "title: Hello", "title: Saved", 1), now.Add(-time.Minute))
	testutil.Eventually(t, "the watcher to parse the good save", func() bool {
		return strings.Contains(logs.String(), `msg="post parsed" file=hello.md title=Saved`)
	})
	write("---\ntitle: Hello\ndate: [oops\n---\n", now)
	testutil.Eventually(t, "the watcher to log the broken save", func() bool {
		return strings.Contains(logs.String(), `msg="post does not parse" file=hello.md`)
	})
	p, err := l.Get("hello")
	if err != nil || p.Title != "Saved" || p.Broken == nil {
		t.Errorf("Get: %+v, %v; want the good save, marked broken", p, err)
	}
	// A new post shows up without anyone asking for it.
	if err := os.WriteFile(filepath.Join(dir, "new.md"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the watcher to parse a new post", func() bool {
		return strings.Contains(logs.String(), `msg="post parsed" file=new.md`)
	})
}
