package web_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/readtag/readtag/actors"
	"github.com/readtag/readtag/posts"
	"github.com/readtag/readtag/views"
	"github.com/readtag/readtag/web"
)

// A Shutdown that comes before Serve (a signal during start-up, or a test
// that stops a server it has just started) must still end Serve: Fiber
// closes only the listeners its Serve has already registered, so a Serve
// that started late used to accept for ever.
func TestServeAfterShutdown(t *testing.T) {
	for _, tc := range []struct {
		name      string
		serveLast bool // Serve is called only once Shutdown has returned
	}{
		{"serve after shutdown", true},
		{"serve racing shutdown", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			library, err := posts.Open(testPosts, false)
			if err != nil {
				t.Fatal(err)
			}
			presence, err := actors.New(actors.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = presence.Close(context.Background()) })
			srv, err := web.New(web.Config{Posts: library, Views: views.Embedded, Presence: presence})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			serve := func() { served <- srv.Serve(ln) }
			if !tc.serveLast {
				go serve()
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			if tc.serveLast {
				go serve()
			}
			select {
			case err := <-served:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(waitLimit):
				t.Fatal("Serve still running after Shutdown returned")
			}
			if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				c.Close()
				t.Error("the listener still accepts after Shutdown")
			}
		})
	}
}
