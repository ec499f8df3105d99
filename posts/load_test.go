package posts

import (
	"strings"
	"testing"
	"testing/fstest"
)

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
		"unclosed":        {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\n\nThe article, with the closing dashes forgotten.\n", "bad.md: front matter starting on line 1 is not closed by ---"},
		"image not a url": {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\nimage: javascript:alert(1)\n---\nx\n", `bad.md: line 5: front matter: "image": "javascript:alert(1)": want an http:// or https:// URL`},
		"image quote":     {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\nimage: '/a\"><script>.png'\n---\nx\n", `bad.md: line 5: front matter: "image"`},
		"image elsewhere": {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\nimage: //evil.example/a.png\n---\nx\n", "starts with one slash"},
		"image list":      {"---\ntitle: t\ndate: 2026-01-01\nsummary: s\nimage: [a]\n---\nx\n", `"image" must be a URL`},
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

func TestEmptyFolder(t *testing.T) {
	l, err := Open(fstest.MapFS{}, false)
	if err != nil {
		t.Fatalf("a folder without posts: %v, want it to open", err)
	}
	if list, err := l.List(); err != nil || len(list) != 0 {
		t.Errorf("List: %v, %v; want none", list, err)
	}
	if tags, err := l.Tags(); err != nil || len(tags) != 0 {
		t.Errorf("Tags: %v, %v; want none", tags, err)
	}
}

func TestImage(t *testing.T) {
	for _, ok := range []string{"https://cdn.example.com/a.png", "http://x.example/a.png?v=2", "/images/cover.png"} {
		if err := CheckImage(ok); err != nil {
			t.Errorf("CheckImage(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a.png", "ftp://x.example/a.png", "https://", "https://u:p@x.example/a", "//x.example/a.png",
		"/a b.png", "/a\nb", "/\"onload=\"x", "/<x>", "data:image/png;base64,AAAA", strings.Repeat("/a", MaxImageLen)} {
		if err := CheckImage(bad); err == nil {
			t.Errorf("CheckImage(%q) accepted", bad)
		}
	}
	src := "---\ntitle: t\ndate: 2026-01-01\nsummary: s\nimage: /images/cover.png\n---\nx\n"
	l, err := Open(fstest.MapFS{"p.md": {Data: []byte(src)}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := l.Get("p"); p.Image != "/images/cover.png" {
		t.Errorf("image %q", p.Image)
	}
}
