package protocol

import (
	"net/url"
	"strings"
	"testing"
)

func TestSiteOrigins(t *testing.T) {
	got, err := SiteOrigins(DefaultSiteOrigin, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://site0.test,http://site1.test,http://site2.test"; strings.Join(got, ",") != want {
		t.Errorf("SiteOrigins = %q, want %s", got, want)
	}
	// Written as a browser writes its Origin header.
	got, err = SiteOrigins("HTTPS://Blog{i}.Example:443", 2)
	if err != nil || strings.Join(got, ",") != "https://blog0.example,https://blog1.example" {
		t.Errorf("SiteOrigins(upper case, default port) = %q, %v", got, err)
	}
	got, err = SiteOrigins("http://127.0.0.1:80{i}", 2)
	if err != nil || strings.Join(got, ",") != "http://127.0.0.1:800,http://127.0.0.1:801" {
		t.Errorf("SiteOrigins(port) = %q, %v", got, err)
	}
	for _, bad := range []struct{ pattern, want string }{
		{"http://site.test", "has no {i}"},
		{"ftp://site{i}.test", "not an origin"},
		{"http://site{i}.test/blog", "nothing after it"},
		{"http://site{i}.test?x=1", "nothing after it"},
		{"http://user@site{i}.test", "nothing after it"},
		{"http://site{i}.test:99999", "bad port"},
		{"http://:8{i}", "not an origin"},
		{"site{i}.test", "not an origin"},
	} {
		if _, err := SiteOrigins(bad.pattern, 2); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SiteOrigins(%q) = %v, want an error with %q", bad.pattern, err, bad.want)
		}
	}
}

// Pages go round-robin over the sites, and every site has the same paths.
func TestEmbedPages(t *testing.T) {
	pages := EmbedPages([]string{"http://a.test", "http://b.test"}, 5)
	want := []EmbedPage{
		{"http://a.test", "http://a.test/notes/load-0000"},
		{"http://b.test", "http://b.test/notes/load-0000"},
		{"http://a.test", "http://a.test/notes/load-0001"},
		{"http://b.test", "http://b.test/notes/load-0001"},
		{"http://a.test", "http://a.test/notes/load-0002"},
	}
	if len(pages) != len(want) {
		t.Fatalf("%d pages, want %d", len(pages), len(want))
	}
	for i := range want {
		if pages[i] != want[i] {
			t.Errorf("page %d = %+v, want %+v", i, pages[i], want[i])
		}
	}
}

// Every spelling is the same page under issue 21's normalisation; a
// spelling that cannot be made (a default port where there is a port
// already) is the page itself.
func TestSpellPage(t *testing.T) {
	for _, tc := range []struct {
		page string
		want [Spellings]string
	}{
		{"http://site3.test/notes/load-0001", [Spellings]string{
			"http://site3.test/notes/load-0001",
			"http://site3.test/notes/load-0001/",
			"http://site3.test/notes/load-0001?utm_source=readtag-load&ref=2#comments",
			"HTTP://SITE3.TEST/notes/load-0001",
			"http://site3.test:80/notes/load-0001",
			"http://site3.test/notes/load%2d0001",
		}},
		{"https://127.0.0.1:8443/notes/load-0000", [Spellings]string{
			"https://127.0.0.1:8443/notes/load-0000",
			"https://127.0.0.1:8443/notes/load-0000/",
			"https://127.0.0.1:8443/notes/load-0000?utm_source=readtag-load&ref=2#comments",
			"HTTPS://127.0.0.1:8443/notes/load-0000",
			"https://127.0.0.1:8443/notes/load-0000",
			"https://127.0.0.1:8443/notes/load%2d0000",
		}},
	} {
		for v, want := range tc.want {
			if got := SpellPage(tc.page, v+Spellings); got != want {
				t.Errorf("SpellPage(%s, %d) = %s, want %s", tc.page, v, got, want)
			}
		}
	}
}

// The page travels whole in the query: its own query and fragment too.
func TestEmbedPath(t *testing.T) {
	page := "http://a.test/p?x=1&y=2#frag"
	p := EmbedPath(page)
	path, query, ok := strings.Cut(p, "?")
	if !ok || path != "/ws/embed" {
		t.Fatalf("EmbedPath = %s", p)
	}
	q, err := url.ParseQuery(query)
	if err != nil || len(q) != 1 || q.Get("page") != page {
		t.Errorf("EmbedPath(%s) = %s: query %v, %v", page, p, q, err)
	}
}
