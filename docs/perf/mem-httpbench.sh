#!/bin/bash
# The client /tmp/mem/hb/hb is docs/perf/mem-hb.go.txt built as a main package (go build -o /tmp/mem/hb/hb).
# usage: httpbench.sh BIN LABEL: 20,000 GETs of a post page over 8 keep-alive conns; server CPU ticks (1/100 s) per 1,000 requests.
BIN=$1; LABEL=$2
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
$BIN --addr 127.0.0.1:$PORT --posts /tmp/mem/posts100 --log-level warn >/dev/null 2>&1 &
SP=$!
for i in $(seq 50); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
/tmp/mem/hb/hb http://127.0.0.1:$PORT/posts/load-0001 2000 8 >/dev/null
t0=$(awk '{print $14+$15}' /proc/$SP/stat)
/tmp/mem/hb/hb http://127.0.0.1:$PORT/posts/load-0001 20000 8
t1=$(awk '{print $14+$15}' /proc/$SP/stat)
echo "$LABEL: server CPU ticks per 1000 req: $(( (t1-t0)*1000/20000 )) (total $((t1-t0))), RSS $(grep VmRSS /proc/$SP/status)"
kill $SP; wait $SP 2>/dev/null
