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
	Tags    []posts.TagCount // the /tags page
	Status  int
	Message string
	// Canonical is the page's absolute URL (link rel=canonical, og:url).
	Canonical string
	// LiveCounts: the index shows live reader counts (embed.js, data-page="none").
	LiveCounts bool
	// Blog is Config.Blog, set by render.
	Blog Blog
	// Description is the page's meta description: the post's summary, or
	// (set by render) the blog's.
	Description string
	// Image is the absolute link-preview image (og:image), set by render
	// from the post's image or the blog's; empty for none.
	Image string
	// AuthorView: the visitor may see what is wrong with a post being
	// written (Server.authorView).
	AuthorView bool
	// base is the site's root, for render to make Image absolute.
	base string
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
	return s.render(c, "index", page{Title: "Posts", Posts: list, Canonical: base + "/", base: base, LiveCounts: s.index != nil})
}

// handlePost serves GET /posts/:slug.
func (s *Server) handlePost(c *fiber.Ctx) error {
	author := s.authorView(c)
	p, err := s.lookup(c.Params("slug"), author)
	if err != nil {
		return err
	}
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	return s.render(c, "post", page{Title: p.Title, Post: p, Description: p.Summary,
		Canonical: base + "/posts/" + p.Slug, base: base, AuthorView: author})
}

// authorView reports whether this request may see the errors of posts being
// written: with Config.AuthorMode, or from this machine (fromThisMachine:
// loopback and not forwarded, so a reverse proxy on the same machine does
// not make every reader an author).
func (s *Server) authorView(c *fiber.Ctx) bool {
	return s.cfg.AuthorMode || fromThisMachine(c)
}

// lookup finds a published post, mapping failures to readtag errors. A post
// on disk (live mode) that never parsed is the author's error page for the
// author, and for everyone else a 404 that says nothing about the file.
func (s *Server) lookup(slug string, author bool) (*posts.Post, error) {
	p, err := s.posts.Get(slug)
	switch {
	case errors.Is(err, posts.ErrNotFound):
		return nil, errorf(ENOTFOUND, "There is no post at this address.")
	case err != nil && !author:
		return nil, &Error{Code: ENOTFOUND, Message: "This post is not available.", Err: err}
	case err != nil:
		return nil, &Error{Code: EINTERNAL, Message: "This post cannot be shown: " + err.Error(), Err: err}
	}
	return p, nil
}
