package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag/posts"
)

// handleTag serves GET /tags/:tag: the published posts with that tag, as
// the index shows them. A name that cannot be a tag, or a tag no post has,
// is a 404.
func (s *Server) handleTag(c *fiber.Ctx) error {
	tag := c.Params("tag")
	if !posts.ValidTag(tag) {
		return errorf(ENOTFOUND, "There is no such tag: tags are lowercase words, digits and dashes.")
	}
	list, err := s.posts.Tagged(tag)
	if err != nil {
		return internal(err)
	}
	if len(list) == 0 {
		return errorf(ENOTFOUND, "No post has this tag.")
	}
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	return s.render(c, "index", page{Title: "Posts tagged “" + tag + "”", Posts: list,
		Canonical: base + "/tags/" + tag, base: base, LiveCounts: s.index != nil})
}

// handleTags serves GET /tags: every tag of the published posts with how
// many posts have it, most used first.
func (s *Server) handleTags(c *fiber.Ctx) error {
	tags, err := s.posts.Tags()
	if err != nil {
		return internal(err)
	}
	base, err := s.siteURL(c)
	if err != nil {
		return err
	}
	return s.render(c, "tags", page{Title: "Tags", Tags: tags, Canonical: base + "/tags", base: base})
}
