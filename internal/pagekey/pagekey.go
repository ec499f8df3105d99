// Package pagekey turns the address of a page on another site into the key
// of its room (issue 21): readers of "the same page" must get the same key
// however the browser spelled its URL, and a key must never name a page of
// another site. The browser script (web/static/embed.js) applies the same
// rules; the server applies them again and trusts only its own result.
//
// A room key is a post slug (readtag's own posts), "<site><path>" for a page
// of a configured site ("blog.example.com/posts/hello") or "<site>/#<id>"
// for a page that names its room itself ("blog.example.com/#some-id").
package pagekey

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

const (
	// MaxPath is the longest normalised path, in bytes.
	MaxPath = 512
	// MaxKey is the longest room key, in bytes.
	MaxKey = 600
	// MaxID is the longest explicit id.
	MaxID = 128
	// maxURL bounds the raw URL parsed at all (a query, dropped anyway,
	// may make a real URL long; nothing needs more than this).
	maxURL = 4096
)

var (
	siteRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.:-]{0,62}$`)
	idRE   = regexp.MustCompile(`^[A-Za-z0-9._~:/-]{1,128}$`)
	slugRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
)

// ValidSiteName reports whether name may name a site:
// [a-z0-9][a-z0-9.:-]{0,62}.
func ValidSiteName(name string) bool { return siteRE.MatchString(name) }

// ValidID reports whether id may be an explicit page id: 1 to MaxID
// characters of [A-Za-z0-9._~:/-].
func ValidID(id string) bool { return idRE.MatchString(id) }

// ValidSlug reports whether s is shaped like a post slug (lower-case words
// joined by single hyphens, at most 100 bytes).
func ValidSlug(s string) bool { return len(s) <= 100 && slugRE.MatchString(s) }

// Normalize checks that raw is an absolute http or https URL without
// userinfo and returns its origin ("https://example.com", scheme and host
// lower-cased, default port dropped) and its normalised path: query and
// fragment dropped, percent-encoding canonical (see CanonicalPath), dot
// segments resolved, trailing slashes folded ("/a/" is "/a", "/" stays "/").
func Normalize(raw string) (origin, path string, err error) {
	if len(raw) > maxURL {
		return "", "", fmt.Errorf("page address is longer than %d bytes", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", errors.New("page address is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.Host == "" {
		return "", "", errors.New("page address is not an absolute http or https URL")
	}
	if u.User != nil {
		return "", "", errors.New("page address may not carry a user name or password")
	}
	origin, err = CanonicalOrigin(u.Scheme + "://" + u.Host)
	if err != nil {
		return "", "", err
	}
	path, err = CanonicalPath(u.EscapedPath())
	if err != nil {
		return "", "", err
	}
	return origin, path, nil
}

// CanonicalOrigin checks that s is a web origin (scheme://host[:port], with
// scheme http or https and nothing after the host but an optional "/") and
// returns it lowercased, without a default port: "HTTPS://Example.COM:443/"
// becomes "https://example.com".
func CanonicalOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || // url.Parse lowercases the scheme
		u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin like https://example.com", s)
	}
	scheme, host := u.Scheme, strings.ToLower(u.Hostname())
	// url.Parse takes "https://:443" and "http://[fe80::1%25eth0]": no
	// host, or a zone no browser sends (and whose canonical form would not
	// parse again).
	if host == "" || strings.Contains(host, "%") {
		return "", fmt.Errorf("%q is not an origin like https://example.com", s)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	switch port := u.Port(); {
	case port == "", scheme == "http" && port == "80", scheme == "https" && port == "443":
	default:
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
		}
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// CanonicalPath normalises an escaped URL path: percent-encodings of
// unreserved characters (A-Z a-z 0-9 - . _ ~) are decoded and the others
// upper-cased; any byte that may not stand in a path as it is (RFC 3986
// pchar, or "/") is percent-encoded; "." and ".." segments are resolved;
// trailing slashes are folded. An empty path is "/". The result is at
// most MaxPath bytes, or an error.
func CanonicalPath(p string) (string, error) {
	if len(p) > maxURL {
		return "", fmt.Errorf("page path is longer than %d bytes", MaxPath)
	}
	var b strings.Builder
	b.Grow(len(p) + 1)
	if !strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return "", errors.New("page path has a % not followed by two hex digits")
			}
			d := unhex(p[i+1])<<4 | unhex(p[i+2])
			i += 2
			if unreserved(d) {
				b.WriteByte(d)
			} else {
				escape(&b, d)
			}
			continue
		}
		if unreserved(c) || c == '/' || strings.IndexByte("!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
		} else {
			escape(&b, c)
		}
	}
	out := removeDots(b.String())
	for len(out) > 1 && strings.HasSuffix(out, "/") {
		out = out[:len(out)-1]
	}
	if len(out) > MaxPath {
		return "", fmt.Errorf("page path is longer than %d bytes", MaxPath)
	}
	return out, nil
}

// removeDots is RFC 3986 §5.2.4 for a path that starts with "/".
func removeDots(p string) string {
	if !strings.Contains(p, "/.") {
		return p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func escape(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}

// RoomKey is the room of the page at path (normalised) of site.
func RoomKey(site, path string) string { return site + path }

// IDKey is the room of the page of site that names itself id (ValidID).
func IDKey(site, id string) string { return site + "/#" + id }

// ValidRoomKey reports whether key is a post slug or a room key made by
// RoomKey or IDKey from a valid site name and a normalised path or valid
// id. The cluster tracker accepts rooms from peers only if it holds.
func ValidRoomKey(key string) bool {
	if len(key) > MaxKey {
		return false
	}
	if ValidSlug(key) {
		return true
	}
	site, rest, ok := strings.Cut(key, "/")
	if !ok || !ValidSiteName(site) {
		return false
	}
	rest = "/" + rest
	if id, ok := strings.CutPrefix(rest, "/#"); ok {
		return ValidID(id)
	}
	p, err := CanonicalPath(rest)
	return err == nil && p == rest
}

// Split returns the site of an embedded room key and the page within it:
// its path, or "/#<id>". ok is false for a post slug.
func Split(key string) (site, page string, ok bool) {
	i := strings.IndexByte(key, '/')
	if i < 0 {
		return "", "", false
	}
	return key[:i], key[i:], true
}
