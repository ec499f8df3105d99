package posts

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

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

func TestTagCounts(t *testing.T) {
	post := func(tags, draft string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("---\ntitle: t\ndate: 2026-01-01\nsummary: s\ntags: [" + tags + "]\ndraft: " + draft + "\n---\nx\n")}
	}
	lib, err := Open(fstest.MapFS{
		"a.md": post("go, actors", "false"),
		"b.md": post("go", "false"),
		"c.md": post("zebra", "false"),
		"d.md": post("go, secret", "true"), // a draft's tags are not counted
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lib.Tags()
	want := []TagCount{{"go", 2}, {"actors", 1}, {"zebra", 1}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Tags: %v, %v; want %v", got, err, want)
	}
}
