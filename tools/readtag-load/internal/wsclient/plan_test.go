package wsclient

import (
	"net/url"
	"strings"
	"testing"

	"github.com/readtag/readtag/tools/readtag-load/internal/protocol"
)

// A plan over embedded pages sends every reader to a page of one of its
// targets with that page's site as its Origin, and the readers of one page
// arrive under every spelling of its URL.
func TestPlanEmbedRooms(t *testing.T) {
	sites, err := protocol.SiteOrigins(protocol.DefaultSiteOrigin, 3)
	if err != nil {
		t.Fatal(err)
	}
	pages := protocol.EmbedPages(sites, 6)
	p := Plan{Targets: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, Embeds: pages}
	spellings := map[string]map[string]bool{}
	perTarget := map[string]map[string]int{}
	for g := range 2 * 6 * protocol.Spellings {
		name, path, origin := p.room(g)
		page, ok := strings.CutPrefix(path, "/ws/embed?page=")
		if !ok {
			t.Fatalf("reader %d: path %s", g, path)
		}
		spelled, err := url.QueryUnescape(page)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, origin+"/") {
			t.Errorf("reader %d joins %s with Origin %s", g, name, origin)
		}
		if spellings[name] == nil {
			spellings[name] = map[string]bool{}
		}
		spellings[name][spelled] = true
		tg := p.target(g)
		if perTarget[tg] == nil {
			perTarget[tg] = map[string]int{}
		}
		perTarget[tg][name]++
	}
	if len(spellings) != len(pages) {
		t.Errorf("readers joined %d rooms, want %d", len(spellings), len(pages))
	}
	for name, s := range spellings {
		if len(s) != protocol.Spellings {
			t.Errorf("%s: %d spellings (%v), want %d", name, len(s), s, protocol.Spellings)
		}
	}
	for tg, rooms := range perTarget {
		if len(rooms) != len(pages) {
			t.Errorf("target %s has readers on %d pages, want all %d", tg, len(rooms), len(pages))
		}
	}
	// Posts are unchanged: no Origin header.
	p = Plan{Targets: []string{"http://127.0.0.1:1"}, Slugs: []string{"a", "b"}}
	if name, path, origin := p.room(3); name != "b" || path != "/ws/posts/b" || origin != "" {
		t.Errorf("post room = %q %q %q", name, path, origin)
	}
}

// Seats place each connection on its own post and target, whatever the
// round-robin would have done.
func TestPlanSeats(t *testing.T) {
	p := Plan{Targets: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, Slugs: []string{"a", "b", "c"},
		Seats: []Seat{{Post: 2, Target: 1}, {Post: 2, Target: 1}, {Post: 0, Target: 0}}}
	want := []struct{ slug, target string }{{"c", p.Targets[1]}, {"c", p.Targets[1]}, {"a", p.Targets[0]}}
	for g, w := range want {
		name, path, _ := p.room(g)
		if name != w.slug || path != "/ws/posts/"+w.slug || p.target(g) != w.target || p.Targets[p.targetIndex(g)] != w.target {
			t.Errorf("connection %d: %s %s on %s, want %s on %s", g, name, path, p.target(g), w.slug, w.target)
		}
	}
}
