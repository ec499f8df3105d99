//go:build pprof

// Built only with -tags pprof, for measuring: serves net/http/pprof and
// expvar (runtime.MemStats) on READTAG_PPROF_ADDR, e.g. 127.0.0.1:6060.
//
//	go build -tags pprof -o /tmp/readtag ./cmd/readtag
//	READTAG_PPROF_ADDR=127.0.0.1:6060 /tmp/readtag ...
//	go tool pprof -top -sample_index=inuse_space http://127.0.0.1:6060/debug/pprof/heap?gc=1
package main

import (
	_ "expvar"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
)

func init() {
	if addr := os.Getenv("READTAG_PPROF_ADDR"); addr != "" {
		runtime.MemProfileRate = 4096
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
