package posts

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

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
	if strings.Contains(html, "<script>") || strings.Contains(html, "&lt;script") || !strings.Contains(html, "<!-- raw HTML omitted -->") {
		t.Errorf("raw HTML is not dropped (README says it is):\n%s", html)
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

func TestCodeCSS(t *testing.T) {
	css, err := CodeCSS()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(css), ".chroma") || !strings.Contains(string(css), "prefers-color-scheme: dark") {
		t.Errorf("code CSS lacks classes or the dark scheme")
	}
}
