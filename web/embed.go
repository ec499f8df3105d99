package web

import (
	"strconv"
	"strings"
	"sync"

	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag/internal/pagekey"
)

// localRoom and localHub are the c.Locals keys carrying an embedded
// reader's room key, and a /ws/counts watcher's hub, into the WebSocket
// handlers.
const (
	localRoom = "readtag.room"
	localHub  = "readtag.hub"
)

// embedState is what the server keeps about the other sites (issue 21).
type embedState struct {
	byOrigin map[string]*siteState // canonical origin → its site
	maxRooms int
	own      *indexHub // /ws/counts of this server's own pages; nil without Config.Counts
	all      []*indexHub

	mu sync.Mutex
	// rooms counts this node's embedded sockets by site and room key: a
	// key is a live room here while it has one, and the site's cap counts
	// the keys.
	rooms map[*siteState]map[string]int
}

type siteState struct {
	site Site
	// hub serves the site's /ws/counts; withOwn the same and this server's
	// own posts, for a site whose origin is also this server's.
	hub, withOwn *indexHub
}

// newEmbedState sets up the sites and, with Config.Counts, their counts
// hubs (an idle hub holds no goroutine).
func (s *Server) newEmbedState() *embedState {
	cfg := s.cfg
	e := &embedState{byOrigin: make(map[string]*siteState), maxRooms: cfg.MaxRoomsPerSite,
		rooms: make(map[*siteState]map[string]int)}
	hub := func(st *siteState, own bool) *indexHub {
		h := newIndexHub(cfg.Counts, cfg.CountsInterval, s.siteCounts(st, own))
		e.all = append(e.all, h)
		return h
	}
	if cfg.Counts != nil {
		e.own = hub(nil, true)
	}
	for _, site := range cfg.Sites {
		st := &siteState{site: site}
		if cfg.Counts != nil {
			st.hub, st.withOwn = hub(st, false), hub(st, true)
		}
		for _, o := range site.Origins {
			e.byOrigin[o] = st
		}
	}
	return e
}

// hubs are every counts hub (for Shutdown).
func (e *embedState) hubs() []*indexHub { return append([]*indexHub(nil), e.all...) }

// reserve counts one more socket in room key of st, unless that makes a
// new room beyond the site's cap; release undoes it.
func (e *embedState) reserve(st *siteState, key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := e.rooms[st]
	if keys[key] == 0 && len(keys) >= e.maxRooms {
		return false
	}
	if keys == nil {
		keys = make(map[string]int)
		e.rooms[st] = keys
	}
	keys[key]++
	return true
}

func (e *embedState) release(st *siteState, key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := e.rooms[st]
	if keys[key]--; keys[key] <= 0 {
		delete(keys, key)
	}
	if len(keys) == 0 {
		delete(e.rooms, st)
	}
}

// Rooms reports how many rooms with readers the site named name has on
// this node.
func (s *Server) Rooms(name string) int {
	s.embed.mu.Lock()
	defer s.embed.mu.Unlock()
	for st, keys := range s.embed.rooms {
		if st.site.Name == name {
			return len(keys)
		}
	}
	return 0
}

// pageOrigin is the request's Origin made canonical, the site it belongs
// to (nil if none) and whether it is this server's own origin (its pages
// are the posts it serves, when it serves any). No Origin, or one that is
// neither, is refused with 403.
func (s *Server) pageOrigin(c *fiber.Ctx) (origin string, site *siteState, own bool, err error) {
	raw := c.Get(fiber.HeaderOrigin)
	if raw == "" {
		return "", nil, false, errorf(EFORBIDDEN, "Live readers for other sites are only served to pages in a browser, which send an Origin header.")
	}
	origin, cerr := CanonicalOrigin(raw)
	if cerr != nil {
		return "", nil, false, errorf(EFORBIDDEN, "The Origin header is not an origin like https://example.com.")
	}
	site = s.embed.byOrigin[origin]
	own = !s.cfg.PresenceOnly && s.ownOrigin(c, origin)
	if site == nil && !own {
		s.log.Debug("embed origin refused", "origin", origin)
		return "", nil, false, errorf(EFORBIDDEN, "Pages of %s are not a site of this server (see --sites).", origin)
	}
	return origin, site, own, nil
}

// ownOrigin reports whether origin is this server's own: the one its
// public URL names, or the one the request was sent to.
func (s *Server) ownOrigin(c *fiber.Ctx, origin string) bool {
	if s.cfg.PublicURL != "" {
		if o, err := CanonicalOrigin(s.cfg.PublicURL); err == nil && o == origin {
			return true
		}
	}
	scheme, _, _ := strings.Cut(origin, "://")
	o, err := CanonicalOrigin(scheme + "://" + string(c.Request().Host()))
	return err == nil && o == origin
}

// handleEmbedUpgrade serves GET /ws/embed?page=URL[&id=ID][&hidden=1]
// before the upgrade: the Origin must be a site's (or this server's own),
// the page one of the same site's (403); the page and id must be well
// formed (400); a new page of a site at its room cap is refused (503); then
// the caps of every socket apply. The socket speaks the protocol of
// /ws/posts/:slug.
func (s *Server) handleEmbedUpgrade(c *fiber.Ctx) error {
	origin, site, own, err := s.pageOrigin(c)
	if err != nil {
		return err
	}
	raw, id := c.Query("page"), c.Query("id")
	if raw == "" {
		return errorf(EINVALID, "The page parameter must be the page's absolute URL.")
	}
	pageOrigin, path, perr := pagekey.Normalize(raw)
	if perr != nil {
		return errorf(EINVALID, "The page parameter: %s.", perr.Error())
	}
	if id != "" && !pagekey.ValidID(id) {
		return errorf(EINVALID, "The id parameter must be 1 to %d of A-Z a-z 0-9 . _ ~ : / -.", pagekey.MaxID)
	}
	hidden, err := parseHidden(c.Query("hidden"))
	if err != nil {
		return err
	}
	var key string
	if slug, ok := strings.CutPrefix(path, "/posts/"); ok && own && pageOrigin == origin && pagekey.ValidSlug(slug) && s.served(slug) {
		key, site = slug, nil // this server's own post: its room, which no site's cap counts
	} else {
		switch {
		case site == nil:
			return errorf(ENOTFOUND, "This server has live readers only for its own posts and its sites' pages.")
		case !containsOrigin(site.site.Origins, pageOrigin):
			s.log.Debug("embed page of another site refused", "origin", origin, "page", pageOrigin)
			return errorf(EFORBIDDEN, "A page of %s cannot join the readers of a page of %s.", origin, pageOrigin)
		case id != "":
			key = pagekey.IDKey(site.site.Name, id)
		default:
			key = pagekey.RoomKey(site.site.Name, path)
		}
		if len(key) > pagekey.MaxKey {
			return errorf(EINVALID, "The page's room key is longer than %d bytes.", pagekey.MaxKey)
		}
	}
	if !fws.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "This address speaks WebSocket only.")
	}
	var onClose func()
	if site != nil {
		if !s.embed.reserve(site, key) {
			s.metrics.refused.WithLabelValues("max_rooms_per_site").Inc()
			s.refusals["max_rooms_per_site"].event()
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retryAfter.Seconds())))
			return errorf(EBUSY, "Site %s has live readers on %d pages of this server, as many as it may (--max-rooms-per-site); try again in a little while.",
				site.site.Name, s.embed.maxRooms)
		}
		st := site
		onClose = func() { s.embed.release(st, key) }
	}
	who := s.resumeReader(key, c.Query("resume"))
	setReader(c, who)
	c.Locals(localHidden, hidden)
	c.Locals(localRoom, key)
	ip, viaProxy := s.clientIP(c)
	s.log.Debug("websocket upgrade", "reader", who.ID, "room", key, "remote", ip.String())
	return s.admit(c, ip, viaProxy, onClose)
}

func containsOrigin(origins []string, o string) bool {
	for _, x := range origins {
		if x == o {
			return true
		}
	}
	return false
}

// served reports whether slug is a post this server serves.
func (s *Server) served(slug string) bool {
	_, err := s.lookup(slug, false)
	return err == nil
}

// handleCountsUpgrade serves GET /ws/counts before the upgrade: the same
// Origin rules as /ws/embed; the watcher gets the counts of its site's
// pages (and of this server's posts, on its own origin).
func (s *Server) handleCountsUpgrade(c *fiber.Ctx) error {
	if s.cfg.Counts == nil {
		return errorf(ENOTFOUND, "There is no page at this address.")
	}
	_, site, own, err := s.pageOrigin(c)
	if err != nil {
		return err
	}
	if !fws.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "This address speaks WebSocket only.")
	}
	hub := s.countsHub(site, own)
	c.Locals(localHub, hub)
	ip, viaProxy := s.clientIP(c)
	return s.admit(c, ip, viaProxy, nil)
}

// countsHub is the hub of a site's watchers, with or without this server's
// own posts.
func (s *Server) countsHub(site *siteState, own bool) *indexHub {
	switch {
	case site == nil:
		return s.embed.own
	case own:
		return site.withOwn
	}
	return site.hub
}

// siteCounts is the view of a counts hub: the pages of site with readers
// by path (or "/#id"), and with own this server's published posts as
// "/posts/<slug>".
func (s *Server) siteCounts(site *siteState, own bool) func(map[string]int) map[string]int {
	return func(counts map[string]int) map[string]int {
		out := make(map[string]int)
		var listed map[string]bool
		if own {
			listed = s.listed()
		}
		for key, n := range counts {
			if n <= 0 {
				continue
			}
			name, page, ok := pagekey.Split(key)
			switch {
			case ok && site != nil && name == site.site.Name:
				out[page] += n
			case !ok && listed[key]:
				out["/posts/"+key] += n
			}
		}
		return out
	}
}
