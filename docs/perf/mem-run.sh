#!/bin/bash
# usage: [DIR=...] [RAMP=20] mem-run.sh BIN LABEL READERS POSTS [extra server flags...]
# docs/perf/draft-mem.md's runs: BIN (built with -tags pprof) on a fresh port with READERS idle readers over
# POSTS posts, plus a heap profile and MemStats RAMP + 12 s after the load starts (the ramp, then 12 s of hold).
# Works in DIR (default perf-runs/mem at the repository's root, which git ignores): it needs the load tool at
# DIR/load (go build -C tools/readtag-load -o "$DIR/load" .) and DIR/postsPOSTS (DIR/load --make-posts
# DIR/posts1000 --count 1000), and leaves there LABEL's server log, load output and JSON, heap profile,
# /debug/vars, /metrics and goroutine dump. docs/perf/mem-attr.py reads the profile.
DIR=${DIR:-$(cd "$(dirname "$0")/../.." && pwd)/perf-runs/mem}
RAMP=${RAMP:-20}; BIN=$1; LABEL=$2; N=$3; P=$4; shift 4
mkdir -p "$DIR"
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"); PP=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
READTAG_PPROF_ADDR=127.0.0.1:$PP $BIN --addr 127.0.0.1:$PORT --posts $DIR/posts$P --max-readers 20000 --max-readers-per-ip 20000 --log-level warn "$@" >$DIR/$LABEL.srv.log 2>&1 &
SP=$!
for i in $(seq 50); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
( sleep $((RAMP+12)); curl -s -o $DIR/$LABEL.heap "http://127.0.0.1:$PP/debug/pprof/heap?gc=1"; curl -s -o $DIR/$LABEL.vars http://127.0.0.1:$PP/debug/vars; curl -s -o $DIR/$LABEL.metrics http://127.0.0.1:$PORT/metrics; curl -s -o $DIR/$LABEL.gor "http://127.0.0.1:$PP/debug/pprof/goroutine?debug=1" ) &
$DIR/load idle --targets http://127.0.0.1:$PORT --readers $N --posts-count $P --ramp ${RAMP}s --duration 20s --pid $SP --json $DIR/$LABEL.json > $DIR/$LABEL.out 2>&1
kill $SP; wait $SP 2>/dev/null
grep -E "welcomed|memory/reader|RSS|^errors" $DIR/$LABEL.out
