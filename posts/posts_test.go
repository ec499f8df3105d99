package posts

import (
	"strings"
	"testing"
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

// good is a post that parses, used by the tests of every file here.
const good = "---\ntitle: Hello\ndate: 2026-11-01\nsummary: A post.\n---\n\n## Part one\n\nSome *words*.\n\n```go\nfunc main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script>\n"

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
