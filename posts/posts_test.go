package posts

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestValidSlug(t *testing.T) {
	for s, want := range map[string]bool{
		"hello":                        true,
		"hello-world-2":                true,
		"":                             false,
		"..":                           false,
		"a/b":                          false,
		"%2e%2e":                       false,
		"Hello":                        false,
		"a--b":                         false,
		"-a":                           false,
		"a-":                           false,
		"a.md":                         false,
		strings.Repeat("a", 100):       true,
		strings.Repeat("a", 101):       false,
		"caf\u00e9":                    false,
		"hello\x00":                    false,
		"hello world":                  false,
		"../../etc/passwd":             false,
		strings.Repeat("ab-", 40):      false,
		strings.Repeat("ab-", 3) + "c": true,
	} {
		if got := ValidSlug(s); got != want {
			t.Errorf("ValidSlug(%q) = %v, want %v", s, got, want)
		}
	}
}

const good = "---\ntitle: Hello\ndate: 2026-11-01\nsummary: A post.\n---\n\n## Part one\n\nSome *words*.\n\n```go\nfunc main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script>\n"

func TestRender(t *testing.T) {
	l, err := Open(fstest.MapFS{
		"hello.md": {Data: []byte(good)},
		"older.md": {Data: []byte("---\ntitle: Older\ndate: 2025-01-01\nsummary: Old.\n---\n" + strings.Repeat("word ", 2300))},
		"draft.md": {Data: []byte("---\ntitle: D\ndate: 2026-12-01\nsummary: S\ndraft: true\n---\nx\n")},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Get("hello")
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Hello" || p.Summary != "A post." || !p.Date.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("front matter: %+v", p)
	}
	html := string(p.HTML)
	for _, want := range []string{
		`<h2 id="part-one">Part one</h2>`, // heading anchors
		`<em>words</em>`,
		`class="chroma"`, // highlighted code, with classes
		`<table>`,        // GFM
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("raw HTML passed through:\n%s", html)
	}
	if _, err := l.Get("draft"); !errors.Is(err, ErrNotFound) {
		t.Errorf("draft: %v, want ErrNotFound", err)
	}
	for _, slug := range []string{"nope", "..", "../hello", "HELLO", ""} {
		if _, err := l.Get(slug); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", slug, err)
		}
	}
	list, err := l.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Slug != "hello" || list[1].Slug != "older" {
		t.Errorf("List: %v", list)
	}
	if list[1].ReadingMinutes != 10 {
		t.Errorf("2300 words read in %d minutes, want 10", list[1].ReadingMinutes)
	}
}

func TestBrokenFrontMatterStopsStartup(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"no front matter": {"# Hi\n", "bad.md: line 1: missing front matter"},
		"bad yaml":        {"---\ntitle: [oops\ndate: 2026-01-01\n---\nx\n", "bad.md: line 2: front matter: did not find expected"},
		"missing title":   {"---\ndate: 2026-01-01\nsummary: s\n---\nx\n", `bad.md: front matter: "title" is required`},
		"bad date":        {"---\ntitle: t\ndate: yesterday\nsummary: s\n---\nx\n", `"date" must be a date like 2026-11-27, got "yesterday"`},
		"unknown key":     {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntilte: x\n---\nx\n", `unknown key "tilte"`},
		"bad draft":       {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ndraft: maybe\n---\nx\n", `bad.md: line 5: front matter: "draft" must be true or false`},
		"bad toc":         {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntoc: yes please\n---\nx\n", `bad.md: line 5: front matter: "toc" must be true or false`},
		"tags not a list": {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntags: go\n---\nx\n", `bad.md: line 5: front matter: "tags" must be a list like [go, actors]`},
		"bad tag":         {"---\ntitle: t\ntags: [go, Go Lang]\ndate: 2026-01-01\nsummary: s\n---\nx\n", `bad.md: line 3: front matter: tag Go Lang: want lowercase letters`},
		"tag traversal":   {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntags: [../etc]\n---\nx\n", `tag ../etc: want lowercase letters`},
		"tag not a word":  {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntags: [go, [x]]\n---\nx\n", `tag [x]: want`},
		"long tag":        {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntags: [" + strings.Repeat("a", 33) + "]\n---\nx\n", "at most 32 bytes"},
		"twice":           {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntags: [go, go]\n---\nx\n", `tag "go" appears twice`},
		"too many":        {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntags: [a,b,c,d,e,f,g,h,i,j,k,l,m]\n---\nx\n", `"tags" has 13 tags, at most 12`},
	} {
		_, err := Open(fstest.MapFS{"ok.md": {Data: []byte(good)}, "bad.md": {Data: []byte(tc.src)}}, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, tc.want)
		}
	}
	_, err := Open(fstest.MapFS{"Bad Name.md": {Data: []byte(good)}}, false)
	if err == nil || !strings.Contains(err.Error(), "Bad Name.md: file name is not a valid slug") {
		t.Errorf("bad file name: %v", err)
	}
}

func TestTagsAndTOC(t *testing.T) {
	src := "---\ntitle: T\ndate: 2026-01-01\nsummary: s\ntags: [go, actors]\ntoc: true\n---\n\n" +
		"## First *part*\n\ntext\n\n### A `detail`\n\n#### Too deep\n\n## Second\n"
	lib, err := Open(fstest.MapFS{"t.md": {Data: []byte(src)}, "u.md": {Data: []byte(good)}}, false)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := lib.Get("t")
	if !slices.Equal(p.Tags, []string{"go", "actors"}) {
		t.Errorf("tags %v", p.Tags)
	}
	want := []Heading{{2, "first-part", "First part"}, {3, "a-detail", "A detail"}, {2, "second", "Second"}}
	if !slices.Equal(p.TOC, want) {
		t.Errorf("toc %+v, want %+v", p.TOC, want)
	}
	for _, h := range want {
		if !strings.Contains(string(p.HTML), `id="`+h.ID+`"`) {
			t.Errorf("no heading with id %q in %s", h.ID, p.HTML)
		}
	}
	if u, _ := lib.Get("u"); u.TOC != nil || u.Tags != nil {
		t.Errorf("a post without toc or tags has %v and %v", u.TOC, u.Tags)
	}
	if list, _ := lib.Tagged("go"); len(list) != 1 || list[0].Slug != "t" {
		t.Errorf("tagged go: %v", list)
	}
	if list, _ := lib.Tagged("nothing"); len(list) != 0 {
		t.Errorf("tagged nothing: %v", list)
	}
}

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

func TestEmbeddedPosts(t *testing.T) {
	l, err := Open(Embedded, false)
	if err != nil {
		t.Fatal(err)
	}
	list, err := l.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 4 {
		t.Fatalf("%d embedded posts, want at least 4", len(list))
	}
	for _, p := range list {
		if p.ReadingMinutes < 5 {
			t.Errorf("%s reads in %d minutes: too short to scroll through", p.Slug, p.ReadingMinutes)
		}
	}
}

func TestCodeCSS(t *testing.T) {
	css, err := CodeCSS()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(css), ".chroma") || !strings.Contains(string(css), "prefers-color-scheme: dark") {
		t.Errorf("code CSS lacks classes or the dark scheme")
	}
}
