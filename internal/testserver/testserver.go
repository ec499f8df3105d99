// Package testserver starts readtag wired as cmd/readtag wires it (the
// engine of package actors, the site of package web, posts and views) on
// loopback, so that tests run the real thing.
package testserver

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/internal/testutil"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
)

// Server is a running readtag: the real engine, the real Fiber app, real
// sockets.
type Server struct {
	URL      string // http://127.0.0.1:port
	Addr     string // 127.0.0.1:port; option Addr starts a server again on it
	Web      *web.Server
	Presence *actors.Presence
	Logs     *testutil.SyncBuffer // both loggers' lines, JSON
	stop     func()
}

// Stop shuts the server down and closes the engine, as SIGTERM does; Start
// also does it at the test's cleanup. Calls after the first do nothing.
func (s *Server) Stop() { s.stop() }

type settings struct {
	posts       fs.FS
	postsDir    string
	addr        string
	level       slog.Level
	logs        *testutil.SyncBuffer
	configure   []func(*web.Config, *actors.Config)
	wrap        func(net.Listener) net.Listener
	stopTimeout time.Duration
	presence    func(web.Presence) web.Presence
}

// WrapPresence puts wrap between the web server and the engine, to make
// the engine say what a test needs it to.
func WrapPresence(wrap func(web.Presence) web.Presence) Option {
	return func(s *settings) { s.presence = wrap }
}

// An Option changes how Start sets the server up.
type Option func(*settings)

// Posts serves the posts in fsys instead of the embedded ones.
func Posts(fsys fs.FS) Option { return func(s *settings) { s.posts = fsys } }

// PostsDir serves the posts in dir as --posts does: re-read when they
// change, with the folder watched (posts.Library.Watch) until Stop.
func PostsDir(dir string) Option { return func(s *settings) { s.postsDir = dir } }

// Configure lets f change both configurations once Start has filled them
// in and before it wires them together; options apply in order.
func Configure(f func(*web.Config, *actors.Config)) Option {
	return func(s *settings) { s.configure = append(s.configure, f) }
}

// Addr listens on addr instead of 127.0.0.1:0, e.g. to start a server again
// on the port of one that stopped (the address from testutil.FreeAddr, so
// that nothing else can take it in between).
func Addr(addr string) Option { return func(s *settings) { s.addr = addr } }

// LogLevel sets the level of the log; debug by default, so that tests can
// look for the lines that say what the server did.
func LogLevel(l slog.Level) Option { return func(s *settings) { s.level = l } }

// Logs captures the log in buf instead of a new buffer, for a Configure
// that sets loggers of its own on it.
func Logs(buf *testutil.SyncBuffer) Option { return func(s *settings) { s.logs = buf } }

// WrapListener serves on wrap's listener around the real one.
func WrapListener(wrap func(net.Listener) net.Listener) Option {
	return func(s *settings) { s.wrap = wrap }
}

// StopTimeout bounds each of the two steps of Stop (the server's shutdown
// and the engine's close); 5 s by default.
func StopTimeout(d time.Duration) Option { return func(s *settings) { s.stopTimeout = d } }

// Start starts a server with the embedded posts and views on 127.0.0.1:0
// and stops it at tb's cleanup. Like cmd/readtag it hands the engine's
// counts, health, statistics and (in cluster mode) cluster status to the
// site, and the writers' backlog to the engine.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := settings{posts: posts.Embedded, addr: "127.0.0.1:0", level: slog.LevelDebug, stopTimeout: 5 * time.Second}
	for _, o := range opts {
		o(&s)
	}
	if s.logs == nil {
		s.logs = &testutil.SyncBuffer{}
	}
	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: s.level}))
	live := s.postsDir != ""
	if live {
		s.posts = os.DirFS(s.postsDir)
	}
	library, err := posts.Open(s.posts, live)
	if err != nil {
		tb.Fatal(err)
	}
	acfg := actors.Config{Logger: log}
	// One key for every server a test starts, as cmd/readtag keeps its key
	// file: a server started again accepts the resume tokens of the first.
	wcfg := web.Config{Posts: library, Views: views.Embedded, Logger: log, ResumeKey: []byte("readtag test resume key")}
	for _, f := range s.configure {
		f(&wcfg, &acfg)
	}
	presence, err := actors.New(acfg)
	if err != nil {
		tb.Fatal(err)
	}
	wcfg.Presence = presence
	if s.presence != nil {
		wcfg.Presence = s.presence(presence)
	}
	if wcfg.Counts == nil {
		wcfg.Counts = presence.Counts
	}
	wcfg.EngineStats = presence.EngineStats
	wcfg.Health = presence.Health
	if acfg.Cluster != nil {
		wcfg.Cluster = presence.ClusterStatus
	}
	srv, err := web.New(wcfg)
	if err != nil {
		tb.Fatal(err)
	}
	presence.SetBacklog(srv.WritersWaiting) // as cmd/readtag does
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	var serving net.Listener = ln
	if s.wrap != nil {
		serving = s.wrap(ln)
	}
	go func() { served <- srv.Serve(serving) }()
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		library.Watch(watchCtx) // returns at once unless live
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			stopWatch()
			<-watched
			ctx, cancel := context.WithTimeout(context.Background(), s.stopTimeout)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				tb.Errorf("shutdown: %v", err)
				// What is still running says why; worth the noise on a failure.
				_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			}
			ctx, cancel = context.WithTimeout(context.Background(), s.stopTimeout)
			defer cancel()
			if err := presence.Close(ctx); err != nil {
				tb.Errorf("close presence: %v", err)
			}
			if err := <-served; err != nil {
				tb.Errorf("serve: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	addr := ln.Addr().String()
	return &Server{URL: "http://" + addr, Addr: addr, Web: srv, Presence: presence, Logs: s.logs, stop: stop}
}
