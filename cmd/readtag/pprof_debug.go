//go:build pprof

package main

// Built with -tags pprof, the server also serves net/http/pprof and expvar
// (runtime.MemStats) on the address in READTAG_PPROF_ADDR (loopback only),
// for profiling a load run; heap profiles then sample every 4 KiB:
//
//	go build -tags pprof -o /tmp/readtag ./cmd/readtag
//	READTAG_PPROF_ADDR=127.0.0.1:6060 /tmp/readtag &
//	go tool pprof -seconds 10 http://127.0.0.1:6060/debug/pprof/profile
//	go tool pprof -top -sample_index=inuse_space http://127.0.0.1:6060/debug/pprof/heap?gc=1
//
// Release builds have none of it.

import (
	_ "expvar"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
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
	runtime.MemProfileRate = 4096
	go func() { log.Print(http.ListenAndServe(addr, nil)) }()
}
