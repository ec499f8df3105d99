package pagekey

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, origin, path string }{
		{"https://blog.example.com/posts/hello", "https://blog.example.com", "/posts/hello"},
		{"HTTPS://Blog.Example.COM:443/posts/hello/", "https://blog.example.com", "/posts/hello"},
		{"http://example.com:80", "http://example.com", "/"},
		{"http://example.com:8080/", "http://example.com:8080", "/"},
		{"https://example.com/a/?utm=1#top", "https://example.com", "/a"},
		{"https://example.com/a//", "https://example.com", "/a"},
		{"https://example.com/%7euser/%41b", "https://example.com", "/~user/Ab"},
		{"https://example.com/a%2fb%3F", "https://example.com", "/a%2Fb%3F"},
		{"https://example.com/caf%c3%a9", "https://example.com", "/caf%C3%A9"},
		{"https://example.com/café", "https://example.com", "/caf%C3%A9"},
		{"https://example.com/a/./b/../c", "https://example.com", "/a/c"},
		{"https://example.com/a/%2e%2E/b", "https://example.com", "/b"},
		{"https://example.com/../../x", "https://example.com", "/x"},
		{"https://example.com/a|b", "https://example.com", "/a%7Cb"},
		{"https://example.com/it's(1)!;a=b:c@d", "https://example.com", "/it's(1)!;a=b:c@d"},
		{"http://[::1]:8080/p", "http://[::1]:8080", "/p"},
		{"http://127.0.0.1:41234/posts/x", "http://127.0.0.1:41234", "/posts/x"},
	} {
		origin, path, err := Normalize(tc.in)
		if err != nil || origin != tc.origin || path != tc.path {
			t.Errorf("Normalize(%q) = %q, %q, %v; want %q, %q", tc.in, origin, path, err, tc.origin, tc.path)
		}
	}
}

func TestNormalizeRefuses(t *testing.T) {
	for _, in := range []string{
		"",
		"/posts/hello",
		"example.com/posts/hello",
		"//example.com/posts/hello",
		"ftp://example.com/x",
		"javascript:alert(1)",
		"data:text/html,hi",
		"https://user:pass@example.com/x",
		"https://user@example.com/x",
		"https://example.com:99999/x",
		"https://example.com:0/x",
		"https:///x",
		"https://:443/x",
		"https://example.com/%zz",
		"https://example.com/%4",
		"https://example.com/a\x00b",
		"https://exa mple.com/",
		"http://[fe80::1%25eth0]/",
		"https://example.com/" + strings.Repeat("a", MaxPath),
		"https://example.com/?" + strings.Repeat("q", maxURL),
	} {
		if o, p, err := Normalize(in); err == nil {
			t.Errorf("Normalize(%q) = %q, %q, want an error", in, o, p)
		}
	}
	// The longest path that fits.
	long := "/" + strings.Repeat("a", MaxPath-1)
	if _, p, err := Normalize("https://example.com" + long + "/"); err != nil || p != long {
		t.Errorf("a %d-byte path: %q, %v", MaxPath, p, err)
	}
}

func TestValidRoomKey(t *testing.T) {
	for _, key := range []string{
		"hello", "hello-world", "a1",
		"blog.example.com/", "blog.example.com/posts/hello", "127.0.0.1:41234/posts/x",
		"blog.example.com/caf%C3%A9", "blog.example.com/#some-id", "blog.example.com/#a/b:c~d.e_f",
		"x/" + strings.Repeat("a", MaxPath-1),
	} {
		if !ValidRoomKey(key) {
			t.Errorf("ValidRoomKey(%q) = false", key)
		}
	}
	for _, key := range []string{
		"", "Hello", "hello--world", "-hello", strings.Repeat("a", 101),
		"/posts/x", "Blog.example.com/x", ".blog/x", "blog.example.com/x/", "blog.example.com/caf%c3%a9",
		"blog.example.com/%41", "blog.example.com/a|b", "blog.example.com/a/../b", "blog.example.com/a/./b",
		"blog.example.com/a b", "blog.example.com/#", "blog.example.com/#a b", "blog.example.com/#" + strings.Repeat("a", MaxID+1),
		"blog.example.com/a?b", "blog.example.com/a#b",
		strings.Repeat("a", 64) + "/x", "x/" + strings.Repeat("a", MaxPath),
		"blog.example.com/\xff",
	} {
		if ValidRoomKey(key) {
			t.Errorf("ValidRoomKey(%q) = true", key)
		}
	}
}

func TestKeysAndSplit(t *testing.T) {
	if k := RoomKey("blog.example.com", "/posts/hello"); k != "blog.example.com/posts/hello" || !ValidRoomKey(k) {
		t.Errorf("RoomKey = %q", k)
	}
	k := IDKey("blog.example.com", "some-id")
	if k != "blog.example.com/#some-id" || !ValidRoomKey(k) {
		t.Errorf("IDKey = %q", k)
	}
	if site, page, ok := Split(k); !ok || site != "blog.example.com" || page != "/#some-id" {
		t.Errorf("Split(%q) = %q, %q, %v", k, site, page, ok)
	}
	if _, _, ok := Split("hello"); ok {
		t.Error("Split of a slug: ok")
	}
	for _, id := range []string{"a", "A-Z.0_9~:/x", strings.Repeat("z", MaxID)} {
		if !ValidID(id) {
			t.Errorf("ValidID(%q) = false", id)
		}
	}
	for _, id := range []string{"", " ", "a?b", "a#b", "é", strings.Repeat("z", MaxID+1)} {
		if ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
	}
}

// FuzzNormalize checks that whatever a page claims to be, Normalize either
// refuses it or returns an origin that parses back to itself and a path
// that is a valid room key's path, short enough, and normalised for good
// (normalising it again changes nothing).
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"https://blog.example.com/posts/hello/", "http://[::1]:80/a/../b?q#f", "https://example.com/%7e%2F%zz",
		"https://example.com/caf\xc3\xa9/./", "https://u@x/", "HTTP://X:443//",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		origin, path, err := Normalize(raw)
		if err != nil {
			return
		}
		if o, err := CanonicalOrigin(origin); err != nil || o != origin {
			t.Fatalf("origin %q of %q is not canonical: %q, %v", origin, raw, o, err)
		}
		if len(path) > MaxPath || !strings.HasPrefix(path, "/") {
			t.Fatalf("path %q of %q", path, raw)
		}
		if p, err := CanonicalPath(path); err != nil || p != path {
			t.Fatalf("path %q of %q normalises again to %q, %v", path, raw, p, err)
		}
		if !ValidRoomKey(RoomKey("site", path)) {
			t.Fatalf("room key of %q (path %q) is not valid", raw, path)
		}
		if o2, p2, err := Normalize(origin + path); err != nil || o2 != origin || p2 != path {
			t.Fatalf("%q normalises to %q%q, which normalises to %q%q, %v", raw, origin, path, o2, p2, err)
		}
	})
}
