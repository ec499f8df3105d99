package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/readtag/readtag"
	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/memtrim"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
)

// shutdownTimeout bounds closing the sockets and requests; stopping the
// actors gets one more second, which keeps the whole stop under 5 s.
const shutdownTimeout = 3500 * time.Millisecond

// usageError is a bad flag or environment value: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// options are the command line, each flag also readable from READTAG_<NAME>.
type options struct {
	addr            string
	resumeKeyFile   string
	postsDir        string
	viewsDir        string
	allowedOrigins  []string
	logLevel        slog.Level
	logFormat       string
	trace           actors.Trace
	nodeID          string
	publicURL       string
	cluster         *actors.ClusterConfig // nil: a single node
	clusterCerts    *actors.ClusterCerts  // nil: no TLS
	clusterKey      string                // the --cluster-key file, if any
	limits          limits
	memoryLimit     int64 // bytes; 0: none set here
	sites           []web.Site
	maxRoomsPerSite int
	presenceOnly    bool
	blog            web.Blog
	authorMode      bool
}

func parseOptions(args []string, stdout io.Writer, getenv func(string) string) (*options, error) {
	fset := flag.NewFlagSet("readtag", flag.ContinueOnError)
	// The flag package would print the error and the whole usage on any
	// mistake; main prints the error once, on stderr, and only --help prints
	// the usage (on stdout).
	fset.SetOutput(io.Discard)
	env := func(name, def string) string {
		if v := getenv("READTAG_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	addr := fset.String("addr", env("addr", "127.0.0.1:8080"), "`host:port` to serve HTTP on (READTAG_ADDR)")
	postsDir := fset.String("posts", env("posts", ""), "serve posts from this `folder` instead of the embedded ones,\nre-reading files when they change (READTAG_POSTS)")
	viewsDir := fset.String("views", env("views", ""), "serve templates from this `folder` instead of the embedded ones,\nre-reading them on every request (READTAG_VIEWS)")
	origins := fset.String("allowed-origins", env("allowed-origins", ""), "comma-separated `origins` (https://example.com) besides the site's own\nwhose pages may connect to the live readers; * allows any\n(READTAG_ALLOWED_ORIGINS)")
	level := fset.String("log-level", env("log-level", "info"), "`level` of the log: debug, info, warn or error; debug traces\nevery actor message and WebSocket frame (READTAG_LOG_LEVEL)")
	format := fset.String("log-format", env("log-format", "text"), "`format` of the log: text or json (READTAG_LOG_FORMAT)")
	trace := fset.String("trace", env("trace", "all"), "at debug level, trace only these actor `kinds`\n("+strings.Join(actors.Kinds, ", ")+")\nand/or one post or embedded page, e.g. room,reader, post=hello or\npost=blog.example.com/posts/hello (READTAG_TRACE)")
	nodeID := fset.String("node-id", env("node-id", ""), "cluster mode: this node's `id`, unique in the cluster (READTAG_NODE_ID)")
	clusterAddr := fset.String("cluster-addr", env("cluster-addr", ""), "cluster mode: `host:port` this node listens on for its peers (READTAG_CLUSTER_ADDR)")
	peers := fset.String("peers", env("peers", ""), "cluster mode: the other nodes, as comma-separated `id@host:port`\n(READTAG_PEERS); without --join or --peers-dns only these can join")
	clusterCA := fset.String("cluster-ca", env("cluster-ca", ""), "cluster mode: the cluster CA's certificate `file` (PEM; old and new CA in one\nfile while rotating it); peers must present a certificate it signed.\nThe three TLS files are re-read when they change, and on SIGHUP\n(READTAG_CLUSTER_CA)")
	clusterCert := fset.String("cluster-cert", env("cluster-cert", ""), "cluster mode: this node's certificate `file`, naming its --node-id\n(make them with: readtag certs --dir DIR --nodes a,b,c) (READTAG_CLUSTER_CERT)")
	clusterKey := fset.String("cluster-key", env("cluster-key", ""), "cluster mode: this node's private key `file` (READTAG_CLUSTER_KEY)")
	insecure := fset.Bool("cluster-insecure", env("cluster-insecure", "") == "true" || env("cluster-insecure", "") == "1",
		"cluster mode without TLS, for trying it on one machine: only when the\ncluster address and every peer are loopback (READTAG_CLUSTER_INSECURE)")
	lim := addLimitFlags(fset, env)
	peerLim := addPeerFlags(fset, env)
	joinLim := addJoinFlags(fset, env)
	memLimit := fset.String("memory-limit", env("memory-limit", ""), "a soft memory limit (a `size`: 512MiB, 1GiB, ...) for the Go runtime: past it,\ngarbage is collected sooner; not a hard cap (READTAG_MEMORY_LIMIT;\nunset: GOMEMLIMIT or none)")
	publicURL := fset.String("public-url", env("public-url", ""), "the site's `url` as readers reach it (https://blog.example.com), for the feed,\nsitemap and canonical links; unset: taken from each request's Host\n(READTAG_PUBLIC_URL)")
	sites := fset.String("sites", env("sites", ""), "comma-separated `origins` (https://blog.example.com) of other sites whose pages\nmay show live readers with /embed.js, each a site named after its host[:port]\n(READTAG_SITES)")
	sitesFile := fset.String("sites-file", env("sites-file", ""), "`file` of more sites, one a line: name origin [origin ...], # comments\n(READTAG_SITES_FILE)")
	maxRooms := fset.String("max-rooms-per-site", env("max-rooms-per-site", "1000"), "the most `pages` of one site with live readers on this node; a reader of one\nmore gets 503 and Retry-After (READTAG_MAX_ROOMS_PER_SITE)")
	resumeKey := fset.String("resume-key-file", env("resume-key-file", defaultResumeKeyFile()), "`file` of the key that signs readers' resume tokens (same name and colour after\na reconnect); made 0600 if missing; nodes sharing it accept each other's\n(READTAG_RESUME_KEY_FILE)")
	presenceOnly := fset.Bool("presence-only", env("presence-only", "") == "true" || env("presence-only", "") == "1",
		"serve no blog, only live readers for the --sites: /embed.js, /static, /ws/embed,\n/ws/counts, /healthz and /metrics (READTAG_PRESENCE_ONLY)")
	siteTitle := fset.String("site-title", env("site-title", ""), "the blog's `title`, for the header, page titles, feed and link previews\n(READTAG_SITE_TITLE; unset: readtag)")
	siteAuthor := fset.String("site-author", env("site-author", ""), "the author's `name`, for the feed and the pages' meta tags\n(READTAG_SITE_AUTHOR; unset: the site title)")
	siteDesc := fset.String("site-description", env("site-description", ""), "a `sentence` about the blog: the header's tagline, the feed's subtitle, the\ndescription of pages that are not posts (READTAG_SITE_DESCRIPTION)")
	siteImage := fset.String("site-image", env("site-image", ""), "the link-preview image (a `url`: https://... or /images/...) of pages whose\npost names none (READTAG_SITE_IMAGE; unset: none)")
	authorMode := fset.Bool("author-mode", env("author-mode", "") == "true" || env("author-mode", "") == "1",
		"show every visitor what is wrong with a post being written (a note above its\nlast good version); without it only requests from this machine, not forwarded\nby a proxy, see it (READTAG_AUTHOR_MODE)")
	fset.Usage = func() {} // the flag package calls it on every error too
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: readtag [flags]\n       readtag certs --dir DIR --nodes a,b,c\n\nServes the blog with live reader ghosts. Every flag can also be set\nwith the environment variable named after it.\n\nFlags:\n")
			fset.SetOutput(stdout)
			fset.PrintDefaults()
			return nil, err
		}
		return nil, &usageError{err}
	}
	if fset.NArg() > 0 {
		return nil, &usageError{fmt.Errorf("unexpected argument %q (all settings are flags)", fset.Arg(0))}
	}
	o := &options{addr: *addr, postsDir: *postsDir, viewsDir: *viewsDir, logFormat: *format, resumeKeyFile: *resumeKey}
	var err error
	if err := checkHostPort(o.addr, 0); err != nil {
		return nil, &usageError{fmt.Errorf("--addr %q: %w", o.addr, err)}
	}
	for _, origin := range strings.Split(*origins, ",") {
		if origin = strings.TrimSpace(origin); origin == "" {
			continue
		}
		if origin != "*" {
			if _, err := web.CanonicalOrigin(origin); err != nil {
				return nil, &usageError{fmt.Errorf("--allowed-origins: %w", err)}
			}
		}
		o.allowedOrigins = append(o.allowedOrigins, origin)
	}
	if *publicURL != "" {
		u, err := web.ParsePublicURL(*publicURL)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--public-url: %w", err)}
		}
		o.publicURL = u
	}
	if o.sites, err = parseSites(*sites, *sitesFile); err != nil {
		return nil, &usageError{err}
	}
	if o.maxRoomsPerSite, err = strconv.Atoi(strings.TrimSpace(*maxRooms)); err != nil || o.maxRoomsPerSite < 1 || o.maxRoomsPerSite > 1<<24 {
		return nil, &usageError{fmt.Errorf("--max-rooms-per-site %q: want a whole number from 1 to %d", *maxRooms, 1<<24)}
	}
	if v := env("presence-only", ""); v != "" && v != "true" && v != "1" && v != "false" && v != "0" {
		return nil, &usageError{fmt.Errorf("READTAG_PRESENCE_ONLY %q: want 1, true, 0 or false", v)}
	}
	if o.presenceOnly = *presenceOnly; o.presenceOnly && len(o.sites) == 0 {
		return nil, &usageError{errors.New("--presence-only serves only other sites' pages: name them with --sites or --sites-file")}
	}
	if o.blog, err = web.CheckBlog(web.Blog{Title: *siteTitle, Author: *siteAuthor, Description: *siteDesc, Image: *siteImage}); err != nil {
		return nil, &usageError{err}
	}
	if v := env("author-mode", ""); v != "" && v != "true" && v != "1" && v != "false" && v != "0" {
		return nil, &usageError{fmt.Errorf("READTAG_AUTHOR_MODE %q: want 1, true, 0 or false", v)}
	}
	o.authorMode = *authorMode
	if err := o.logLevel.UnmarshalText([]byte(*level)); err != nil || !validLevel(*level) {
		return nil, &usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", *level)}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, &usageError{fmt.Errorf("--log-format %q: want text or json", o.logFormat)}
	}
	t, err := actors.ParseTrace(*trace)
	if err != nil {
		return nil, &usageError{fmt.Errorf("--trace: %w", err)}
	}
	o.trace = t
	if o.limits, err = lim.parse(o.addr); err != nil {
		return nil, &usageError{err}
	}
	if o.memoryLimit, err = parseMemoryLimit(*memLimit); err != nil {
		return nil, &usageError{err}
	}
	if err := o.parseCluster(*nodeID, *clusterAddr, *peers); err != nil {
		return nil, &usageError{err}
	}
	if err := o.clusterTLS(*clusterCA, *clusterCert, *clusterKey, *insecure); err != nil {
		return nil, &usageError{err}
	}
	if o.cluster != nil {
		if err := peerLim.apply(o.cluster, o.limits.maxReaders); err != nil {
			return nil, &usageError{err}
		}
	}
	if err := joinLim.apply(o, getenv); err != nil {
		return nil, &usageError{err}
	}
	for _, dir := range []struct{ flag, path string }{{"posts", o.postsDir}, {"views", o.viewsDir}} {
		if dir.path == "" {
			continue
		}
		if st, err := os.Stat(dir.path); err != nil || !st.IsDir() {
			return nil, &usageError{fmt.Errorf("--%s %q: not a folder", dir.flag, dir.path)}
		}
	}
	return o, nil
}

func (o *options) parseCluster(nodeID, addr, peers string) error {
	if nodeID == "" && addr == "" && peers == "" {
		return nil
	}
	if nodeID == "" || addr == "" {
		return errors.New("cluster mode needs both --node-id and --cluster-addr (and --peers for the other nodes)")
	}
	if err := checkHostPort(addr, 1); err != nil {
		return fmt.Errorf("--cluster-addr %q: %w", addr, err)
	}
	cc := &actors.ClusterConfig{Addr: addr}
	for _, item := range strings.Split(peers, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		id, paddr, ok := strings.Cut(item, "@")
		if !ok {
			return fmt.Errorf("--peers: %q is not id@host:port", item)
		}
		if err := checkHostPort(paddr, 1); err != nil {
			return fmt.Errorf("--peers: %q: %w", item, err)
		}
		cc.Peers = append(cc.Peers, actors.Peer{ID: id, Addr: paddr})
	}
	o.nodeID, o.cluster = nodeID, cc
	return nil
}

// hostnameRE is a DNS name (RFC 1123 labels), for addresses that are not IPs.
var hostnameRE = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))*\.?$`)

// checkHostPort accepts host:port with an IP or DNS name (or nothing, for
// every interface) and a numeric port from minPort to 65535: anything else
// would only fail later, at listen or dial time, with exit code 1.
func checkHostPort(addr string, minPort int) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. 127.0.0.1:8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < minPort || n > 65535 {
		return fmt.Errorf("port %q: want a number from %d to 65535", port, minPort)
	}
	if _, err := netip.ParseAddr(host); host != "" && err != nil && (len(host) > 253 || !hostnameRE.MatchString(host)) {
		return fmt.Errorf("host %q: want an IP address or a host name", host)
	}
	return nil
}

func validLevel(s string) bool {
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

func (o *options) logger(w io.Writer) *slog.Logger {
	h := &slog.HandlerOptions{Level: o.logLevel}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, h))
	}
	return slog.New(slog.NewTextHandler(w, h))
}

// run is the whole program, callable from tests: it serves until ctx ends,
// then shuts down gracefully.
func run(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) > 0 && args[0] == "certs" {
		return runCerts(args[1:], stdout)
	}
	o, err := parseOptions(args, stdout, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := o.logger(stdout)
	// Hollywood logs through the default logger: keep it on our stream.
	slog.SetDefault(log)
	if mode, exposed := keyExposed(o.clusterKey); exposed {
		// A warning, not a refusal: a group-readable key can be deliberate
		// (a secrets volume shared with a sidecar).
		log.Warn("cluster key file is open to group or others: chmod 600 it", "file", o.clusterKey, "mode", fmt.Sprintf("%#o", mode))
	}
	if o.memoryLimit > 0 {
		debug.SetMemoryLimit(o.memoryLimit)
		log.Info("memory limit", "bytes", o.memoryLimit)
	}

	postsFS, viewsFS := fs.FS(posts.Embedded), fs.FS(views.Embedded)
	if o.postsDir != "" {
		postsFS = os.DirFS(o.postsDir)
	}
	if o.viewsDir != "" {
		viewsFS = os.DirFS(o.viewsDir)
	}
	library, err := posts.Open(postsFS, o.postsDir != "")
	if err != nil {
		return fmt.Errorf("load posts: %w", err)
	}
	presence, err := actors.New(actors.Config{Logger: log, Trace: o.trace, NodeID: o.nodeID, Cluster: o.cluster})
	var usage *actors.ConfigError
	if errors.As(err, &usage) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	var clusterStatus func() readtag.ClusterStatus // peers in /healthz and /metrics
	if o.cluster != nil {
		clusterStatus = presence.ClusterStatus
	}
	if certs := o.clusterCerts; certs != nil {
		clusterStatus = func() readtag.ClusterStatus {
			s := presence.ClusterStatus()
			t := certs.Status()
			s.TLS = &t
			return s
		}
		// The certificates are re-read when they change on disk, and at
		// once on SIGHUP; their expiry is logged well before it comes.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		watchCtx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			certs.Watch(watchCtx, log, hup)
		}()
		defer func() {
			stopWatch()
			<-watched
		}()
	}
	srv, err := web.New(web.Config{
		Posts:           library,
		Views:           viewsFS,
		LiveViews:       o.viewsDir != "",
		Presence:        presence,
		Health:          presence.Health,
		EngineStats:     presence.EngineStats,
		Cluster:         clusterStatus,
		Logger:          log,
		AllowedOrigins:  o.allowedOrigins,
		Sites:           o.sites,
		MaxRoomsPerSite: o.maxRoomsPerSite,
		PresenceOnly:    o.presenceOnly,
		MaxReaders:      o.limits.maxReaders,
		MaxReadersPerIP: o.limits.maxReadersPerIP,
		IPv6Prefix:      o.limits.ipv6Prefix,
		MaxHTTPConns:    o.limits.maxHTTPConns,
		TrustedProxies:  o.limits.trustedProxies,
		MetricsApart:    o.limits.metricsAddr != "",
		PublicURL:       o.publicURL,
		Counts:          presence.Counts,
		Blog:            o.blog,
		AuthorMode:      o.authorMode,
		ResumeKey:       loadResumeKey(o.resumeKeyFile, log),
	})
	if err != nil {
		return err
	}
	// Crowd rooms hold their turns while the sockets' writers are behind
	// (actors.Presence.SetBacklog).
	presence.SetBacklog(srv.WritersWaiting)
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	served := make(chan error, 2)
	if o.limits.metricsAddr != "" {
		mln, err := net.Listen("tcp", o.limits.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w", o.limits.metricsAddr, err)
		}
		log.Info("metrics listening", "addr", mln.Addr().String(), "url", "http://"+mln.Addr().String()+"/metrics")
		go func() { served <- srv.ServeMetrics(mln) }()
	}
	logLimits(log, o.limits)
	list, _ := library.List()
	_, node, _ := presence.Health()
	attrs := []any{"addr", ln.Addr().String(), "url", "http://" + ln.Addr().String() + "/",
		"posts", len(list), "posts_from", source(o.postsDir), "node", node}
	if o.cluster != nil {
		attrs = append(attrs, "cluster_addr", o.cluster.Addr, "peers", len(o.cluster.Peers))
	}
	if len(o.sites) > 0 {
		attrs = append(attrs, "sites", len(o.sites), "max_rooms_per_site", o.maxRoomsPerSite, "presence_only", o.presenceOnly)
	}
	log.Info("readtag listening", attrs...)
	if o.postsDir != "" {
		// Saves are parsed when they are made (posts.Library.Watch).
		watchCtx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			library.Watch(watchCtx)
		}()
		defer func() {
			stopWatch()
			<-watched
		}()
	}

	go func() { served <- srv.Serve(ln) }()
	// After a burst (a storm of joins, a crowd arriving) the heap's goal,
	// and the memory, stay at the burst's peak until the next collection;
	// give it back once the process is quiet (internal/memtrim).
	trimCtx, stopTrim := context.WithCancel(ctx)
	defer stopTrim()
	go memtrim.Run(trimCtx, 5*time.Second, func() {
		log.Debug("memory returned to the OS after a quiet spell")
	})
	var failed error // the cluster refused this node: stop, and exit non-zero
	select {
	case err := <-served:
		return err
	case failed = <-presence.Failed():
		log.Error("stopping: the cluster refused this node", "err", failed)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	actx, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := errors.Join(failed, err, presence.Close(actx)); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func source(dir string) string {
	if dir == "" {
		return "embedded"
	}
	return dir
}
