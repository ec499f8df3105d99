package posts

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReaderExcerptIsTheCode: "How readtag works" shows the reader actor in
// full; it must be the code of actors/reader.go, not a version of it.
func TestReaderExcerptIsTheCode(t *testing.T) {
	post, err := Embedded.ReadFile("how-readtag-works.md")
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile("../actors/reader.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(post), "Here is the reader actor in full")
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(after)
	if !ok || m == nil {
		t.Fatal("how-readtag-works.md has no Go block after \"Here is the reader actor in full\"")
	}
	for _, part := range strings.Split(m[1], "\n\n") {
		if !strings.Contains(string(code), part) {
			t.Errorf("this part of the excerpt in how-readtag-works.md is not in actors/reader.go:\n%s", part)
		}
	}
	if strings.Contains(m[1], "c.Parent()") {
		t.Error("the excerpt sends to c.Parent(): readers have no Hollywood parent")
	}
}
