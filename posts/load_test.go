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
