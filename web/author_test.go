package web_test

import (
	"encoding/xml"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testserver"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/web"
)

// meta returns the content of the page's <meta> with this property or
// name, unescaped, and whether there is one.
func meta(page, key string) (string, bool) {
	re := regexp.MustCompile(`<meta (?:property|name)="` + regexp.QuoteMeta(key) + `" content="([^"]*)">`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

func TestBlogSettings(t *testing.T) {
	fsys := fstest.MapFS{
		"pic.md":   {Data: []byte("---\ntitle: With a picture\ndate: 2026-02-01\nsummary: Has its own image.\nimage: https://cdn.example.com/pic.png\ntags: [go]\n---\nText.\n")},
		"plain.md": {Data: []byte("---\ntitle: Plain\ndate: 2026-01-01\nsummary: Has none.\n---\nText.\n")},
	}
	// HTML and quotes in the settings are text, escaped wherever they go.
	blog := web.Blog{Title: `Ann's <script>alert(1)</script> notes`, Author: `Ann "A" & Bo`,
		Description: "Notes on <b>things</b>.", Image: "/images/cover.png"}
	ts := testserver.Start(t, testserver.Posts(fsys), testserver.Configure(func(w *web.Config, _ *actors.Config) {
		w.Blog, w.PublicURL = blog, "https://blog.example.com"
	}))
	get := func(path string) string {
		t.Helper()
		resp, body := fetch(t, "GET", ts.URL+path)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if strings.Contains(string(body), "<script>alert") || strings.Contains(string(body), "<b>things") {
			t.Errorf("GET %s: a setting's HTML is not escaped", path)
		}
		return string(body)
	}
	for _, tc := range []struct {
		path, title, ogTitle, desc, image, card string
	}{
		{"/", "Posts · " + blog.Title, "Posts · " + blog.Title, blog.Description, "https://blog.example.com/images/cover.png", "summary_large_image"},
		{"/posts/plain", "Plain · " + blog.Title, "Plain", "Has none.", "https://blog.example.com/images/cover.png", "summary_large_image"},
		{"/posts/pic", "With a picture · " + blog.Title, "With a picture", "Has its own image.", "https://cdn.example.com/pic.png", "summary_large_image"},
		{"/tags", "Tags · " + blog.Title, "Tags · " + blog.Title, blog.Description, "https://blog.example.com/images/cover.png", "summary_large_image"},
	} {
		page := get(tc.path)
		if m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(page); m == nil || html.UnescapeString(m[1]) != tc.title {
			t.Errorf("%s: title %q, want %q", tc.path, m, tc.title)
		}
		for key, want := range map[string]string{
			"og:site_name": blog.Title, "og:title": tc.ogTitle, "twitter:title": tc.ogTitle,
			"description": tc.desc, "og:description": tc.desc, "twitter:description": tc.desc,
			"author": blog.Author, "og:image": tc.image, "twitter:image": tc.image, "twitter:card": tc.card,
			"og:url": "https://blog.example.com" + tc.path,
		} {
			if got, _ := meta(page, key); got != want {
				t.Errorf("%s: meta %s = %q, want %q", tc.path, key, got, want)
			}
		}
		if !strings.Contains(page, `<a class="site-name" href="/">`+template(blog.Title)+`</a>`) ||
			!strings.Contains(page, `<span class="site-tagline">`+template(blog.Description)+`</span>`) {
			t.Errorf("%s: the header does not show the blog's title and description", tc.path)
		}
	}
	if got, _ := meta(get("/posts/pic"), "og:type"); got != "article" {
		t.Errorf("og:type of a post: %q", got)
	}

	_, body := fetch(t, "GET", ts.URL+"/feed.xml")
	var f struct {
		Title    string `xml:"http://www.w3.org/2005/Atom title"`
		Subtitle string `xml:"http://www.w3.org/2005/Atom subtitle"`
		Author   struct {
			Name string `xml:"http://www.w3.org/2005/Atom name"`
		} `xml:"http://www.w3.org/2005/Atom author"`
	}
	if err := xml.Unmarshal(body, &f); err != nil {
		t.Fatalf("feed: %v\n%s", err, body)
	}
	if f.Title != blog.Title || f.Author.Name != blog.Author || f.Subtitle != blog.Description {
		t.Errorf("feed: title %q, author %q, subtitle %q; want the blog's", f.Title, f.Author.Name, f.Subtitle)
	}

	// Without settings: readtag's defaults, and no image at all.
	plain := testserver.Start(t, testserver.Posts(fsys))
	_, page := fetch(t, "GET", plain.URL+"/posts/plain")
	if got, _ := meta(string(page), "og:site_name"); got != "readtag" {
		t.Errorf("default og:site_name %q", got)
	}
	if _, ok := meta(string(page), "og:image"); ok {
		t.Error("og:image without a post or site image")
	}
	if got, _ := meta(string(page), "twitter:card"); got != "summary" {
		t.Errorf("twitter:card without an image: %q", got)
	}
}

// template is s as html/template writes it in text.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestHostileBlogSettings(t *testing.T) {
	for _, tc := range []struct {
		blog web.Blog
		want string
	}{
		{web.Blog{Title: strings.Repeat("x", 101)}, "--site-title"},
		{web.Blog{Author: "Ann\nBo"}, "--site-author"},
		{web.Blog{Description: strings.Repeat("é", 301)}, "301 characters, at most 300"},
		{web.Blog{Title: "   "}, "blank"},
		{web.Blog{Title: "a\xffb"}, "not valid UTF-8"},
		{web.Blog{Title: "a\u202eb"}, "control characters"},
		{web.Blog{Image: "javascript:alert(1)"}, "--site-image"},
		{web.Blog{Image: `/a.png" onload="x`}, "--site-image"},
		{web.Blog{Image: "//evil.example/a.png"}, "--site-image"},
	} {
		if _, err := web.CheckBlog(tc.blog); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", tc.blog, err, tc.want)
		}
	}
}

// writePost writes a post's file with an explicit modification time: two
// saves within the file system's clock tick would otherwise look like one.
func writePost(t testing.TB, file, src string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(file, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// getFrom fetches path as a reader on another machine would reach it
// through a proxy on this one (forwarded), or as the author on this machine.
func getFrom(t testing.TB, ts *testserver.Server, path string, forwarded bool) (int, string) {
	t.Helper()
	var header []string
	if forwarded {
		header = []string{"X-Forwarded-For", "203.0.113.7"}
	}
	resp, body := fetch(t, "GET", ts.URL+path, header...)
	return resp.StatusCode, string(body)
}

// TestBrokenPostOnlyTheAuthorSees: a post that breaks on disk is its last
// good save for everyone; the reason is on the page only for the author
// (a request from this machine, or any with AuthorMode), and always in
// the log. The last good save is the watcher's, not the last request's.
func TestBrokenPostOnlyTheAuthorSees(t *testing.T) {
	for _, authorMode := range []bool{false, true} {
		dir := t.TempDir()
		file := filepath.Join(dir, "alpha.md")
		now := time.Now()
		writePost(t, file, "---\ntitle: Alpha\ndate: 2026-01-02\nsummary: S.\n---\nFirst version.\n", now.Add(-time.Hour))
		ts := testserver.Start(t, testserver.PostsDir(dir), testserver.Configure(func(w *web.Config, _ *actors.Config) {
			w.AuthorMode = authorMode
		}))
		// A good save, taken by the watcher with nobody asking for the page,
		// then broken.
		writePost(t, file, "---\ntitle: Alpha\ndate: 2026-01-02\nsummary: S.\n---\nSecond version.\n", now.Add(-time.Minute))
		testutil.Eventually(t, "the watcher to take the good save", func() bool {
			return strings.Contains(ts.Logs.String(), `"msg":"post parsed","file":"alpha.md"`)
		})
		writePost(t, file, "---\ntitle: Alpha\nsummary: S.\n\nThe closing dashes are gone.\n", now)
		reason := "alpha.md: front matter starting on line 1 is not closed by ---"
		testutil.Eventually(t, "the broken save in the log", func() bool {
			return strings.Contains(ts.Logs.String(), reason)
		})
		for _, forwarded := range []bool{true, false} {
			status, body := getFrom(t, ts, "/posts/alpha", forwarded)
			author := authorMode || !forwarded
			if status != 200 || !strings.Contains(body, "Second version.") {
				t.Errorf("author mode %v, forwarded %v: %d, want the last good save:\n%.2000s", authorMode, forwarded, status, body)
			}
			if got := strings.Contains(body, reason) && strings.Contains(body, `class="post-broken"`); got != author {
				t.Errorf("author mode %v, forwarded %v: the reason on the page: %v, want %v", authorMode, forwarded, got, author)
			}
		}
		// A post that never parsed: the author gets the reason, everyone
		// else a plain 404 that names no file.
		writePost(t, filepath.Join(dir, "beta.md"), "---\ntitle: Beta\n---\n", now)
		for _, forwarded := range []bool{true, false} {
			status, body := getFrom(t, ts, "/posts/beta", forwarded)
			switch author := authorMode || !forwarded; {
			case author && (status != 500 || !strings.Contains(body, "beta.md: front matter: &#34;date&#34; is required")):
				t.Errorf("author mode %v, forwarded %v: never-good post %d, want 500 with the reason:\n%.2000s", authorMode, forwarded, status, body)
			case !author && (status != 404 || strings.Contains(body, "beta.md") || !strings.Contains(body, "This post is not available.")):
				t.Errorf("author mode %v, forwarded %v: never-good post %d, want a plain 404:\n%.2000s", authorMode, forwarded, status, body)
			}
		}
		if status, body := getFrom(t, ts, "/", true); status != 200 || strings.Contains(body, "Beta") || !strings.Contains(body, "Alpha") {
			t.Errorf("index: %d, want Alpha listed and Beta not:\n%.2000s", status, body)
		}
	}
}

// TestEmptyFolderThenFirstPost: a posts folder with nothing in it serves an
// index that says so, and the first post written shows up by itself.
func TestEmptyFolderThenFirstPost(t *testing.T) {
	dir := t.TempDir()
	ts := testserver.Start(t, testserver.PostsDir(dir))
	if status, body := getFrom(t, ts, "/", true); status != 200 || !strings.Contains(body, "No posts yet.") {
		t.Fatalf("empty index: %d, want 200 saying there are no posts yet:\n%.2000s", status, body)
	}
	if status, body := getFrom(t, ts, "/tags", true); status != 200 || !strings.Contains(body, "No tags yet.") {
		t.Errorf("empty /tags: %d:\n%.2000s", status, body)
	}
	if status, _ := getFrom(t, ts, "/feed.xml", true); status != 200 {
		t.Errorf("empty feed: %d", status)
	}
	if err := os.WriteFile(filepath.Join(dir, "first.md"), []byte("---\ntitle: The first\ndate: 2026-12-01\nsummary: At last.\n---\nHello.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the watcher to take the first post", func() bool {
		return strings.Contains(ts.Logs.String(), `"msg":"post parsed","file":"first.md"`)
	})
	if status, body := getFrom(t, ts, "/", true); status != 200 || !strings.Contains(body, `href="/posts/first"`) || strings.Contains(body, "No posts yet.") {
		t.Errorf("index after the first post: %d:\n%.2000s", status, body)
	}
}

func TestTagsPage(t *testing.T) {
	ts := startServer(t, nil)
	status, body := ts.get(t, "/tags")
	if status != 200 {
		t.Fatalf("/tags: %d", status)
	}
	items := regexp.MustCompile(`<li class="tag-item" data-tag="([a-z0-9-]+)"><a href="/tags/([a-z0-9-]+)" rel="tag">#[a-z0-9-]+</a> <span class="tag-count">([^<]*)</span></li>`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, m := range items {
		got = append(got, m[2]+": "+m[3])
	}
	// The draft's tags are not there; the most used tag comes first.
	if want := "go: 2 posts, actors: 1 post"; strings.Join(got, ", ") != want {
		t.Errorf("/tags lists %q, want %q:\n%s", strings.Join(got, ", "), want, body)
	}
	if _, body := ts.get(t, "/"); !strings.Contains(body, `<a href="/tags">All tags</a>`) {
		t.Error("the index does not link to /tags")
	}
	resp, err := http.Head(ts.URL + "/tags")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /tags: %d", resp.StatusCode)
	}
}
