package readtagtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
)

// Start runs the real server on 127.0.0.1:0, wired as in
// web/helpers_test.go, with the embedded posts, and returns its URL. It
// stops when the test ends.
func Start(tb testing.TB) string {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	library, err := posts.Open(posts.Embedded, false)
	if err != nil {
		tb.Fatal(err)
	}
	presence, err := actors.New(actors.Config{Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := web.New(web.Config{Posts: library, Views: views.Embedded, Presence: presence, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	presence.SetBacklog(srv.WritersWaiting) // as cmd/readtag does
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := presence.Close(ctx); err != nil {
			tb.Errorf("close presence: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
