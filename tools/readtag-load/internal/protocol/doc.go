// Package protocol is readtag's WebSocket protocol v1 (docs/protocol.md) as
// the load tool reads and writes it: an allocation-free parser of server
// frames, hashes of reader ids for comparing views, scroll positions that
// encode their send time, and the form of a post's slug.
package protocol
