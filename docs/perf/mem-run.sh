#!/bin/bash
# usage: run2.sh BIN LABEL READERS POSTS [extra server flags...]
# Like run.sh, plus a heap profile and MemStats 32 s after the load starts (ramp 20 s + 12 s of hold).
RAMP=${RAMP:-20}; BIN=$1; LABEL=$2; N=$3; P=$4; shift 4
PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"); PP=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
READTAG_PPROF_ADDR=127.0.0.1:$PP $BIN --addr 127.0.0.1:$PORT --posts /tmp/mem/posts$P --max-readers 20000 --max-readers-per-ip 20000 --log-level warn "$@" >/tmp/mem/$LABEL.srv.log 2>&1 &
SP=$!
for i in $(seq 50); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
( sleep $((RAMP+12)); curl -s -o /tmp/mem/$LABEL.heap "http://127.0.0.1:$PP/debug/pprof/heap?gc=1"; curl -s -o /tmp/mem/$LABEL.vars http://127.0.0.1:$PP/debug/vars; curl -s -o /tmp/mem/$LABEL.metrics http://127.0.0.1:$PORT/metrics; curl -s -o /tmp/mem/$LABEL.gor "http://127.0.0.1:$PP/debug/pprof/goroutine?debug=1" ) &
/tmp/mem/load idle --targets http://127.0.0.1:$PORT --readers $N --posts-count $P --ramp ${RAMP}s --duration 20s --pid $SP --json /tmp/mem/$LABEL.json > /tmp/mem/$LABEL.out 2>&1
kill $SP; wait $SP 2>/dev/null
grep -E "welcomed|memory/reader|RSS|^errors" /tmp/mem/$LABEL.out
