// Package servers holds the servers the load tool measures readtag
// against. The baseline is deliberately naive: every scroll is broadcast at
// once to every other reader of the post. The bare server is the floor of
// readtag's stack: Fiber and contrib/websocket doing only what a reader
// needs, and with a relay tick, what a hot post needs.
package servers
