// Package web is readtag's HTTP and WebSocket edge: the blog pages, the
// static assets, and the WebSocket endpoint that connects each reader to the
// presence engine through the Presence interface. It knows nothing of actors.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/internal/netx"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
)

// Presence is the engine that tracks who reads what (package actors).
type Presence interface {
	// Join adds a reader with the given id to the post's room; the engine
	// reports the room to client and takes the reader's scrolls through the
	// returned session. A hidden reader sees the others but is not shown to
	// them.
	// who.ID is the reader's id; who.Name and who.Color, if set, are the
	// identity it had before (a resume token's), which the engine gives back
	// when the name is free in the room.
	Join(slug string, who readtag.Reader, hidden bool, client readtag.Client) readtag.Session
}

// Config configures a Server. Posts, Views and Presence are required.
type Config struct {
	// Posts are the posts to serve; in live mode their parse errors are
	// logged to Logger.
	Posts *posts.Library
	// Views is the folder of templates (views.Embedded, or one on disk).
	Views fs.FS
	// LiveViews parses the templates again on every render, for editing.
	LiveViews bool
	Presence  Presence
	// Health reports readiness for GET /healthz: whether this node is ready,
	// its id, and the cluster members it sees. Zero value means always ready.
	Health func() (ready bool, node string, members []string)
	// EngineStats feeds the engine's own figures into /metrics. Zero value
	// leaves them out.
	EngineStats EngineStats
	// Cluster, in cluster mode, reports the peers for /healthz and the
	// cluster figures for /metrics. Zero value: a single node.
	Cluster func() readtag.ClusterStatus
	// Logger: zero value means slog.Default().
	Logger *slog.Logger
	// AllowedOrigins are origins ("https://example.com") besides the site's
	// own whose pages may open WebSockets; "*" allows any. Zero value: none.
	AllowedOrigins []string
	// PingInterval: zero value means 5 * time.Second.
	PingInterval time.Duration
	// PongWait is how long a silent connection lives: a browser that vanished
	// without a close frame is gone after at most this. Zero value means
	// 12 * time.Second.
	PongWait time.Duration
	// WriteWait bounds one frame's write. Zero value means 10 * time.Second.
	WriteWait time.Duration
	// MaxFrameBytes: bigger client frames close the connection with 1009.
	// Zero value means 1024.
	MaxFrameBytes int
	// MaxFramesPerSecond: a client sending faster is closed with 1008.
	// Zero value means 50.
	MaxFramesPerSecond int
	// MaxReaders caps this node's live WebSockets: an upgrade beyond it is
	// answered 503 with Retry-After. Zero value means 10000.
	MaxReaders int
	// MaxReadersPerIP caps one client address's live WebSockets (429).
	// Zero value means 100.
	MaxReadersPerIP int
	// IPv6Prefix is how many leading bits of an IPv6 client address
	// MaxReadersPerIP counts as one client, 32 to 128 (one subscriber
	// usually holds a /64, often a /56 or /48); IPv4 addresses, and
	// IPv4-mapped IPv6 ones, count one by one. Zero value means 64.
	IPv6Prefix int
	// MaxHTTPConns caps plain HTTP connections, WebSockets not counted (see
	// trackingListener). Zero value means 1000.
	MaxHTTPConns int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed, for the per-address cap and the logs. Zero value: none.
	TrustedProxies []netip.Prefix
	// MetricsApart serves /metrics and /healthz only through ServeMetrics
	// (a private listener). Zero value: on the public port.
	MetricsApart bool
	// PublicURL is the site's root as readers reach it ("https://blog.example.com",
	// see ParsePublicURL), for the feed, sitemap and canonical links. Zero
	// value: built from each request's Host (see siteURL).
	PublicURL string
	// Counts feeds the index page's live "N reading now" (livecounts.go). Zero
	// value: the index shows no counts and /ws/index does not exist.
	Counts Counts
	// CountsInterval is the least time between two frames of counts to one
	// index visitor (the counts are polled four times as often). Zero value
	// means time.Second.
	CountsInterval time.Duration
	// Sites are the other sites whose pages may show live readers through
	// /embed.js, /ws/embed and /ws/counts (see CheckSites). Zero value:
	// none, and those sockets serve only this server's own posts.
	Sites []Site
	// MaxRoomsPerSite caps one site's rooms with readers on this node: a
	// reader of another page of it is refused 503 with Retry-After, so
	// that one site cannot fill the node with rooms. Zero value means 1000.
	MaxRoomsPerSite int
	// PresenceOnly serves no blog: only /embed.js, /static, /ws/embed,
	// /ws/counts, /healthz and /metrics. It needs Sites.
	PresenceOnly bool
	// Static replaces the embedded web/static (its files are under
	// "static/"), for tests. Zero value: the embedded files.
	Static fs.FS
	// Blog is the author's title, name, description and default image
	// (see CheckBlog). Zero value: readtag's defaults.
	Blog Blog
	// AuthorMode shows every visitor what only the author should see while
	// writing: the error of a post on disk that does not parse (above its
	// last good version, or instead of a post that never parsed). Zero
	// value: only requests from this machine (loopback, not forwarded by a
	// proxy) see them; everyone else gets the last good version, or a 404.
	AuthorMode bool
	// OutboxLimit is how many frames may wait for a slow client before it is
	// closed (moves coalesce, so this is a backlog of joins and leaves).
	// Zero value means 256.
	OutboxLimit int
	// ResumeKey signs the resume tokens of welcomes (resume.go): nodes that
	// share it accept each other's. Zero value: no tokens are issued and
	// any sent are ignored.
	ResumeKey []byte
	// ResumeTTL is how long a resume token is good for after it was
	// issued; a live reader gets a fresh one every ResumeTTL/5, so a
	// token stays good for at least 4/5 of it after its socket was lost.
	// Zero value means 5 * time.Minute.
	ResumeTTL time.Duration
}

// Server serves the blog and the live readers.
type Server struct {
	cfg      Config
	log      *slog.Logger
	debug    bool
	app      *fiber.App
	posts    *posts.Library
	views    *views.Views
	presence Presence
	assets   map[string]*asset
	metrics  *metrics
	// writersWaiting is how many post sockets' writers have been started
	// and are not yet running (WritersWaiting).
	writersWaiting atomic.Int64
	// outboxes is what every post socket's outbox shares (outbox.go).
	outboxes outboxConfig
	// tokens holds resume token scratch (resume.go), free of allocations
	// but the token: a live reader gets a new one every ResumeTTL/5.
	tokens sync.Pool

	mu       sync.Mutex
	conns    map[*outbox]struct{}
	pinger   *pinger // started with the first WebSocket
	stopping bool
	handlers sync.WaitGroup
	listener *trackingListener
	admitted int                  // WebSockets reserved (see admit)
	perIP    map[netip.Prefix]int // of admitted, by client (addrKey)
	refusals map[string]*limitedLog
	private  *fiber.App  // /metrics and /healthz when MetricsApart
	index    *indexHub   // nil without Config.Counts
	embed    *embedState // the other sites (embed.go)
	started  time.Time   // Last-Modified of pages (cache.go)
}

// New builds a Server; call Serve to run it.
func New(cfg Config) (*Server, error) {
	if cfg.Posts == nil || cfg.Views == nil || cfg.Presence == nil {
		return nil, errors.New("web: Posts, Views and Presence are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Posts.SetLogger(cfg.Logger) // live mode reports broken files here
	setDefault(&cfg.PingInterval, 5*time.Second)
	setDefault(&cfg.ResumeTTL, 5*time.Minute)
	setDefault(&cfg.PongWait, 12*time.Second)
	setDefault(&cfg.WriteWait, 10*time.Second)
	setDefault(&cfg.MaxFrameBytes, 1024)
	setDefault(&cfg.MaxFramesPerSecond, 50)
	setDefault(&cfg.OutboxLimit, 256)
	setDefault(&cfg.MaxReaders, 10000)
	setDefault(&cfg.MaxReadersPerIP, 100)
	setDefault(&cfg.IPv6Prefix, 64)
	if cfg.IPv6Prefix < 32 || cfg.IPv6Prefix > 128 {
		return nil, fmt.Errorf("web: IPv6Prefix %d: want 32 to 128", cfg.IPv6Prefix)
	}
	setDefault(&cfg.MaxHTTPConns, 1000)
	setDefault(&cfg.CountsInterval, time.Second)
	if cfg.PublicURL != "" {
		u, err := ParsePublicURL(cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		cfg.PublicURL = u
	}
	blog, err := CheckBlog(cfg.Blog)
	if err != nil {
		return nil, fmt.Errorf("web: blog: %w", err)
	}
	cfg.Blog = blog
	origins := make([]string, 0, len(cfg.AllowedOrigins))
	for _, o := range cfg.AllowedOrigins {
		if o != "*" {
			var err error
			if o, err = CanonicalOrigin(o); err != nil {
				return nil, fmt.Errorf("web: allowed origins: %w", err)
			}
		}
		origins = append(origins, o)
	}
	cfg.AllowedOrigins = origins
	code, err := posts.CodeCSS()
	if err != nil {
		return nil, err
	}
	setDefault(&cfg.MaxRoomsPerSite, 1000)
	if cfg.Sites, err = CheckSites(cfg.Sites); err != nil {
		return nil, fmt.Errorf("web: sites: %w", err)
	}
	if cfg.PresenceOnly && len(cfg.Sites) == 0 {
		return nil, errors.New("web: PresenceOnly needs Sites")
	}
	assets, err := loadAssets(cfg.Static, map[string][]byte{"chroma.css": code})
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		debug:    cfg.Logger.Enabled(context.Background(), slog.LevelDebug),
		posts:    cfg.Posts,
		presence: cfg.Presence,
		assets:   assets,
		conns:    make(map[*outbox]struct{}),
		metrics:  newMetrics(cfg.EngineStats, cfg.Cluster),
		perIP:    make(map[netip.Prefix]int),
		refusals: map[string]*limitedLog{
			"max_readers":        newLimitedLog(cfg.Logger, "websocket refused: this node has as many readers as it may take", "max_readers", cfg.MaxReaders),
			"max_readers_per_ip": newLimitedLog(cfg.Logger, "websocket refused: too many readers from one address (behind a reverse proxy? list it in --trusted-proxies)", "max_readers_per_ip", cfg.MaxReadersPerIP),
			"max_rooms_per_site": newLimitedLog(cfg.Logger, "websocket refused: a site has as many live pages on this node as it may", "max_rooms_per_site", cfg.MaxRoomsPerSite),
		},
		started: time.Now().UTC().Truncate(time.Second),
	}
	if assets["favicon.svg"] == nil {
		return nil, errNoFavicon
	}
	s.outboxes = outboxConfig{limit: cfg.OutboxLimit, metrics: s.metrics, waiting: &s.writersWaiting, epoch: time.Now()}
	if len(cfg.ResumeKey) > 0 {
		s.outboxes.resume = func(room string, you readtag.Reader) string { return s.issueResume(room, you, time.Now()) }
		s.outboxes.resumeEvery = cfg.ResumeTTL / 5
	}
	if cfg.Counts != nil && !cfg.PresenceOnly {
		s.index = newIndexHub(cfg.Counts, cfg.CountsInterval, s.postCounts)
	}
	s.embed = s.newEmbedState()
	s.views, err = views.Open(cfg.Views, cfg.LiveViews, template.FuncMap{"asset": s.assetURL})
	if err != nil {
		return nil, err
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "readtag",
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          10 * time.Second,
		IdleTimeout:           60 * time.Second,
		// A request's 4 KiB reader goes back to fasthttp's pool once read
		// when nothing more is buffered, so a WebSocket does not keep it
		// for its whole life (docs/perf/draft-mem.md has what it costs).
		ReduceMemoryUsage: true,
	})
	// The WebSocket handlers return right after the upgrade (serveWS), so
	// that fasthttp releases the request; they close the connections
	// themselves.
	s.app.Server().KeepHijackedConns = true
	s.routes()
	if cfg.MetricsApart {
		s.private = fiber.New(fiber.Config{AppName: "readtag-metrics", DisableStartupMessage: true,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second})
		s.private.Get("/healthz", s.handlePrivateHealth)
		s.private.Get("/metrics", s.handleMetrics())
	}
	return s, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (s *Server) routes() {
	s.app.Use(s.headers, compressor(), s.validators)
	embedWS := fws.Config{ReadBufferSize: 256, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}} // as /ws/posts/:slug
	s.app.Get("/embed.js", s.handleEmbedScript)
	s.app.Get("/ws/embed", s.handleEmbedUpgrade, fws.New(s.serveWS, embedWS))
	s.app.Get("/ws/counts", s.handleCountsUpgrade, fws.New(s.serveIndexWS, fws.Config{ReadBufferSize: 256, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}}))
	s.app.Get("/static/:name", s.handleStatic)
	if !s.cfg.MetricsApart {
		s.app.Get("/healthz", s.handleHealth)
		s.app.Get("/metrics", s.handleMetrics())
	}
	if s.cfg.PresenceOnly {
		return // no blog: every other path is Fiber's 404
	}
	s.app.Get("/", s.handleIndex)
	s.app.Get("/tags", s.handleTags)
	s.app.Get("/tags/:tag", s.handleTag)
	s.app.Get("/feed.xml", s.handleFeed)
	s.app.Get("/sitemap.xml", s.handleSitemap)
	s.app.Get("/robots.txt", s.handleRobots)
	s.app.Get("/favicon.ico", s.handleFavicon)
	s.app.Get("/ws/index", s.handleIndexUpgrade, fws.New(s.serveIndexWS, fws.Config{ReadBufferSize: 256, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}}))
	s.app.Get("/posts/:slug", s.handlePost)
	s.app.Get("/ws/posts/:slug", s.handleUpgrade, fws.New(s.serveWS, fws.Config{
		// Origins are checked in handleUpgrade (same-origin by default).
		// Client frames are small scrolls (at most MaxFrameBytes, read in
		// pieces if bigger than the buffer).
		ReadBufferSize: 256,
		// A frame longer than the write buffer is written in two pieces,
		// two syscalls on our connection; 4 KiB holds a crowd frame
		// (protocol.md keeps them under 4 KiB) and most welcomes whole.
		// Idle connections hold no write buffer: it is taken for a write
		// and given back (most readers of most posts are idle most of the time).
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
	}))
	// No catch-all: a path no route has is Fiber's 404, and a path that a
	// route has for other methods is its 405 with an Allow header; the
	// ErrorHandler renders both.
}

// headers sets security headers on every response and refuses paths that
// try to climb out of their folder ("..", "%2e%2e", encoded slashes)
// before the router normalises them away, and requests framed two ways.
func (s *Server) headers(c *fiber.Ctx) error {
	if bothLengths(c.Request().Header.RawHeaders()) {
		// RFC 9112 §6.3: the framing is ambiguous (request smuggling), so
		// refuse and close; fasthttp alone would read it as chunked.
		c.Context().SetConnectionClose()
		return errorf(EINVALID, "A request may not carry both Content-Length and Transfer-Encoding.")
	}
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "+
		"script-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	raw := strings.ToLower(string(c.Request().RequestURI()))
	if p, _, _ := strings.Cut(raw, "?"); strings.Contains(p, "/..") || strings.Contains(p, "%2e") ||
		strings.Contains(p, "%2f") || strings.Contains(p, "%5c") || strings.Contains(p, "\\") {
		return errorf(ENOTFOUND, "There is no page at this address.")
	}
	return c.Next()
}

// bothLengths reports whether raw request headers have both a
// Content-Length and a Transfer-Encoding.
func bothLengths(raw []byte) bool {
	var cl, te bool
	for line := range bytes.Lines(raw) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		cl = cl || bytes.EqualFold(name, []byte(fiber.HeaderContentLength))
		te = te || bytes.EqualFold(name, []byte(fiber.HeaderTransferEncoding))
	}
	return cl && te
}

// render writes a view as the response, buffered so that a template error
// becomes a clean error page rather than half a page.
func (s *Server) render(c *fiber.Ctx, name string, data page) error {
	data.Blog = s.cfg.Blog
	if data.Description == "" {
		data.Description = s.cfg.Blog.Description
	}
	if data.base != "" {
		image := s.cfg.Blog.Image
		if data.Post != nil && data.Post.Image != "" {
			image = data.Post.Image
		}
		if image != "" {
			data.Image = absolute(data.base, image)
		}
	}
	var buf bytes.Buffer
	if err := s.views.Render(&buf, name, data); err != nil {
		if name == "error" {
			c.Status(fiber.StatusInternalServerError).Type("txt")
			return c.SendString("internal error")
		}
		return internal(err)
	}
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// Serve answers requests on ln until Shutdown, and returns nil at once
// (closing ln) if Shutdown came first. Accept errors that pass (out of file
// descriptors, ...) are retried, never returned.
func (s *Server) Serve(ln net.Listener) error {
	tl := newTrackingListener(netx.Retry(ln, "http", s.log), s.cfg.MaxHTTPConns, s.metrics, s.log)
	s.mu.Lock()
	if s.stopping { // Shutdown came first: there is nothing to serve
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listener = tl
	s.mu.Unlock()
	s.app.Server().ConnState = tl.connState
	if err := s.app.Listener(tl); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// ServeMetrics answers /metrics and /healthz on ln until Shutdown; use it
// with Config.MetricsApart.
func (s *Server) ServeMetrics(ln net.Listener) error {
	if s.private == nil {
		return errors.New("web: ServeMetrics needs Config.MetricsApart")
	}
	if err := s.private.Listener(netx.Retry(ln, "metrics", s.log)); err != nil {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

func (s *Server) track(ob *outbox) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.conns[ob] = struct{}{}
	if s.pinger == nil {
		s.pinger = newPinger(s.cfg.PingInterval)
	}
	s.pinger.add(ob)
	s.handlers.Add(1)
	s.metrics.connections.Inc()
	s.metrics.joins.Inc()
	return true
}

func (s *Server) untrack(ob *outbox) {
	s.mu.Lock()
	delete(s.conns, ob)
	s.pinger.remove(ob)
	s.mu.Unlock()
	s.metrics.connections.Dec()
	s.handlers.Done()
}

// Connections reports how many WebSockets are open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown closes every WebSocket with 1001 (going away) and waits for
// their handlers, then stops the HTTP server: requests in flight get until
// a second before ctx's deadline, after which the connections still open
// (idle preconnects, stalled clients) are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	for ob := range s.conns {
		ob.close(closeGoingAway, "server shutting down")
	}
	if s.pinger != nil {
		s.pinger.stop()
	}
	tl := s.listener
	s.mu.Unlock()
	if s.private != nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.private.ShutdownWithContext(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("shut down metrics: %w", err)
		}
	}
	hubs := s.embed.hubs()
	if s.index != nil {
		hubs = append(hubs, s.index)
	}
	for _, h := range hubs {
		h.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		for _, h := range hubs {
			h.handlers.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("close websockets: %w", ctx.Err())
	}
	grace := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		grace, cancel = context.WithDeadline(ctx, deadline.Add(-time.Second))
		defer cancel()
	}
	// Fiber closes only the listeners its Serve has registered; one that
	// Serve took but had not yet handed to fasthttp would accept forever.
	if tl != nil {
		defer tl.Close()
	}
	shut := make(chan error, 1)
	go func() { shut <- s.app.ShutdownWithContext(ctx) }()
	select {
	case err := <-shut:
		if err != nil {
			return fmt.Errorf("shut down http: %w", err)
		}
		return nil
	case <-grace.Done():
	}
	if tl != nil {
		tl.closeAll()
	}
	if err := <-shut; err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	return nil
}

// WritersWaiting is how many of the post sockets' writers have been started
// (a writer runs while its socket has frames queued) and wait for a
// processor. It is the node's output backlog: cmd/readtag gives it to the
// rooms (actors.Presence.SetBacklog), which hold their crowd turns while it
// is high.
func (s *Server) WritersWaiting() int { return int(s.writersWaiting.Load()) }
