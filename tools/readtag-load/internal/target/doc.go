// Package target is what the load tool needs of the server it loads: that
// it answers, which posts its index lists, that a post exists; and posts to
// give a server (--make-posts).
package target
