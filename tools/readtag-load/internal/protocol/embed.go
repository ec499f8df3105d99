package protocol

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultSiteOrigin is the origin of embedded site i when the command line
// names none: site0.test, site1.test, … (.test is reserved, so no real site
// is ever named).
const DefaultSiteOrigin = "http://site{i}.test"

// SiteOrigins expands pattern, an origin with {i} where the site's number
// goes, into the origins of n sites, each as a browser sends it in its Origin
// header (lower case, no default port).
func SiteOrigins(pattern string, n int) ([]string, error) {
	if n > 1 && !strings.Contains(pattern, "{i}") {
		return nil, fmt.Errorf("%q has no {i}: the %d sites would share one origin", pattern, n)
	}
	out := make([]string, 0, n)
	for i := range n {
		o, err := canonicalOrigin(strings.ReplaceAll(pattern, "{i}", strconv.Itoa(i)))
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// canonicalOrigin checks that s is an http(s) origin and writes it as a
// browser would.
func canonicalOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an origin: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin: want http(s)://host[:port], nothing after it", s)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" || strings.ContainsAny(host, "%{}") {
		return "", fmt.Errorf("%q is not an origin: bad host %q", s, u.Hostname())
	}
	port := u.Port()
	if port == defaultPort(u.Scheme) {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "", fmt.Errorf("%q is not an origin: bad port %q", s, port)
		}
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// EmbedPage is one page of a site that embeds readtag, as the load tool
// joins it over /ws/embed.
type EmbedPage struct {
	// Origin is its site's origin, sent as the socket's Origin header.
	Origin string `json:"origin"`
	// URL is the page's canonical URL: its readers share one room.
	URL string `json:"url"`
}

// EmbedPages spreads n pages over sites round-robin: page k is on site
// k mod len(sites), at /notes/load-NNNN with NNNN = k / len(sites). So
// every site has pages at the same paths, and only the site tells their
// rooms apart: a server that mixed up two sites' rooms would show readers
// of one site to the other's.
func EmbedPages(sites []string, n int) []EmbedPage {
	pages := make([]EmbedPage, n)
	for k := range pages {
		site := sites[k%len(sites)]
		pages[k] = EmbedPage{Origin: site, URL: fmt.Sprintf("%s/notes/load-%04d", site, k/len(sites))}
	}
	return pages
}

// Spellings is how many ways SpellPage writes one page's URL.
const Spellings = 6

// SpellPage writes the canonical URL page in its v-th spelling (mod
// Spellings): as it is, with a trailing slash, with a query and a fragment,
// with the scheme and host in upper case, with the default port, and with
// its dashes percent-encoded (in lower-case hex). Each is the same page (issue 21's normalisation), so the server must put
// readers of every spelling in one room.
func SpellPage(page string, v int) string {
	scheme, rest, _ := strings.Cut(page, "://")
	host, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	switch v % Spellings {
	case 1:
		return page + "/"
	case 2:
		return page + "?utm_source=readtag-load&ref=2#comments"
	case 3:
		return strings.ToUpper(scheme) + "://" + strings.ToUpper(host) + path
	case 4:
		if _, _, err := net.SplitHostPort(host); err != nil {
			return scheme + "://" + host + ":" + defaultPort(scheme) + path
		}
	case 5:
		return scheme + "://" + host + strings.ReplaceAll(path, "-", "%2d")
	}
	return page
}

// EmbedPath is the request path of a socket on the embedded page whose URL
// (in any spelling) is page.
func EmbedPath(page string) string {
	return "/ws/embed?page=" + url.QueryEscape(page)
}
