#!/bin/bash
# usage: [DIR=...] mem-httpbench.sh BIN LABEL: 20,000 GETs of a post page over 8 keep-alive conns; server CPU ticks (1/100 s) per 1,000 requests.
# Works in DIR (default perf-runs/mem at the repository's root, which git ignores), as mem-run.sh: BIN serves
# DIR/posts100, and the client DIR/hb/hb is docs/perf/mem-hb.go.txt built as a main package (copy it to
# /tmp/hb.go, then go build -o "$DIR/hb/hb" /tmp/hb.go; no .go file under the repository, or ./... would
# take it in). It prints its figures and writes no files.
DIR=${DIR:-$(cd "$(dirname "$0")/../.." && pwd)/perf-runs/mem}
BIN=$1; LABEL=$2
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
$BIN --addr 127.0.0.1:$PORT --posts $DIR/posts100 --log-level warn >/dev/null 2>&1 &
SP=$!
for i in $(seq 50); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
$DIR/hb/hb http://127.0.0.1:$PORT/posts/load-0001 2000 8 >/dev/null
t0=$(awk '{print $14+$15}' /proc/$SP/stat)
$DIR/hb/hb http://127.0.0.1:$PORT/posts/load-0001 20000 8
t1=$(awk '{print $14+$15}' /proc/$SP/stat)
echo "$LABEL: server CPU ticks per 1000 req: $(( (t1-t0)*1000/20000 )) (total $((t1-t0))), RSS $(grep VmRSS /proc/$SP/status)"
kill $SP; wait $SP 2>/dev/null
