//go:build pprof

package main

// Built with -tags pprof, the server also serves net/http/pprof on the
// address in READTAG_PPROF_ADDR (loopback only), for profiling a load run:
//
//	go build -tags pprof -o /tmp/readtag ./cmd/readtag
//	READTAG_PPROF_ADDR=127.0.0.1:6060 /tmp/readtag &
//	go tool pprof -seconds 10 http://127.0.0.1:6060/debug/pprof/profile
//
// Release builds have none of it.

import (
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("READTAG_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Fatalf("READTAG_PPROF_ADDR %q: want a loopback host:port", addr)
	}
	go func() { log.Print(http.ListenAndServe(addr, nil)) }()
}
