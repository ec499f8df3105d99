package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag/posts"
)

// page is the data every view gets.
type page struct {
	Title   string
	Post    *posts.Post
	Posts   []*posts.Post
	Status  int
	Message string
	// Canonical is the page's absolute URL (link rel=canonical, og:url).
	Canonical string
	// LiveCounts: the index shows live reader counts (embed.js, data-page="none").
	LiveCounts bool
}

// handleIndex serves GET /: the published posts, newest first.
func (s *Server) handleIndex(c *fiber.Ctx) error {
	list, err := s.posts.List()
	if err != nil {
		return internal(err)
	}
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	return s.render(c, "index", page{Title: "Posts", Posts: list, Canonical: base + "/", LiveCounts: s.index != nil})
}

// handlePost serves GET /posts/:slug.
func (s *Server) handlePost(c *fiber.Ctx) error {
	p, err := s.lookup(c.Params("slug"))
	if err != nil {
		return err
	}
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	return s.render(c, "post", page{Title: p.Title, Post: p, Canonical: base + "/posts/" + p.Slug})
}

// lookup finds a published post, mapping failures to readtag errors.
func (s *Server) lookup(slug string) (*posts.Post, error) {
	p, err := s.posts.Get(slug)
	switch {
	case errors.Is(err, posts.ErrNotFound):
		return nil, errorf(ENOTFOUND, "There is no post at this address.")
	case err != nil:
		// Only a post edited on disk (live mode) can fail here: show the
		// writer what is wrong with it instead of a bare 500.
		return nil, &Error{Code: EINTERNAL, Message: "This post cannot be shown: " + err.Error(), Err: err}
	}
	return p, nil
}
