// Package wsclient is the load tool's simulated readers: an Engine opens a
// Plan's WebSocket connections to readtag (its own client side of RFC
// 6455, read from one epoll loop per CPU on Linux), sends their scrolls,
// keeps each reader's view of its post, and counts what they receive into
// stats.Stats.
package wsclient
