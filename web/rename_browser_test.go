package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/internal/testserver"
	"github.com/readtag/readtag/web"
)

// renaming tells every client each join twice, the second time under a new
// name, as a node does when it renames its reader after two nodes picked
// one name (actors/names.go).
type renaming struct{ web.Presence }

func (p renaming) Join(slug string, who readtag.Reader, hidden bool, c readtag.Client) readtag.Session {
	return p.Presence.Join(slug, who, hidden, renamingClient{c})
}

type renamingClient struct{ readtag.Client }

func (c renamingClient) Join(r readtag.Reader) {
	c.Client.Join(r)
	r.Name = "Renamed " + r.Name
	c.Client.Join(r)
}

// A join for a reader the page already shows, under a new name, renames
// its tag in place: no second tag, the new name on the tag and in the
// page's state.
func TestBrowserGhostRenamed(t *testing.T) {
	browser := newBrowser(t)
	const slug = "how-readtag-works"
	ts := &testServer{testserver.Start(t, testserver.Posts(testPosts), testserver.Configure(fastTick(embeddedPosts(t))),
		testserver.WrapPresence(func(p web.Presence) web.Presence { return renaming{p} }))}
	page := tab(t, browser, ts.URL+"/posts/"+slug, 1280, 900, reducedMotion)
	poll(t, page, "connected", `window.readtag && window.readtag.state().connected`, 5*time.Second)
	other := ts.dial(t, slug)
	id := other.You().ID
	poll(t, page, "the other reader renamed", fmt.Sprintf(`(() => {
		const s = window.readtag.state(), n = s.names[%q] || "";
		const tags = [...`+railRoot+`.querySelectorAll('#ghost-rail .ghost[data-id=%q]')];
		return n.startsWith("Renamed ") && Object.keys(s.ghosts).length == 1 &&
			tags.length == 1 && tags[0].textContent == n && tags[0].dataset.name == n })()`, id, id), 5*time.Second)
}
