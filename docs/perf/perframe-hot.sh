#!/bin/bash
# docs/perf/draft-perframe.md: server CPU, allocations and a CPU profile per frame over a 1,000-reader hot run.
# Needs a server built with -tags pprof and the load tool at $DIR/readtag-load
# (go build -C tools/readtag-load -o "$DIR/readtag-load" .).
# usage: [DIR=perf-runs/perframe] [DURATION=20s] perframe-hot.sh BIN LABEL PORT
# Starts BIN on 127.0.0.1:PORT, runs 1000 readers x 5 Hz x DURATION (ramp 5 s), takes a 10 s CPU
# profile in the middle, and prints server CPU-seconds per 1,000 frames sent over the measured window.
# The run's files (load output and JSON, profiles, summary) go to DIR/LABEL; DIR defaults to
# perf-runs/perframe at the repository's root, which git ignores.
# (docs/perf/draft-enc.md's runs: DIR=/tmp/enc DURATION=15s.)
DIR=${DIR:-$(cd "$(dirname "$0")/../.." && pwd)/perf-runs/perframe}; DURATION=${DURATION:-20s}
BIN=$1; L=$2; P=$3; PP=$((P+1)); D=$DIR/$L; mkdir -p $D
READTAG_PPROF_ADDR=127.0.0.1:$PP $BIN --addr 127.0.0.1:$P --max-readers 19000 --max-readers-per-ip 19000 --log-level warn >$D/server.log 2>&1 &
SP=$!
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$P/ && break; sleep 0.2; done
cpu() { awk '{print $14+$15}' /proc/$SP/stat; }
fout() { curl -s http://127.0.0.1:$P/metrics | awk '/^readtag_frames_out_total/{s+=$2} END{printf "%d\n", s}'; }
mem() { curl -s http://127.0.0.1:$PP/debug/vars | python3 -c 'import json,sys; m=json.load(sys.stdin)["memstats"]; print(m["Mallocs"], m["TotalAlloc"], m["NumGC"])'; }
fin() { curl -s http://127.0.0.1:$P/metrics | awk '/^readtag_frames_in_total/{s+=$2} END{printf "%d\n", s}'; }
$DIR/readtag-load hot --readers 1000 --rate 5 --duration $DURATION --ramp 5s --targets http://127.0.0.1:$P --pid $SP --json $D/hot.json >$D/load.txt 2>&1 &
LP=$!
sleep 9   # ramp 5 s + settle
curl -s -o $D/allocs0.prof http://127.0.0.1:$PP/debug/pprof/allocs; c0=$(cpu); f0=$(fout); i0=$(fin); t0=$(date +%s.%N); m0=$(mem)
curl -s -o $D/cpu.prof "http://127.0.0.1:$PP/debug/pprof/profile?seconds=10"
curl -s -o $D/allocs1.prof http://127.0.0.1:$PP/debug/pprof/allocs; c1=$(cpu); f1=$(fout); i1=$(fin); t1=$(date +%s.%N); m1=$(mem)
wait $LP
kill $SP; wait $SP 2>/dev/null
TCK=$(getconf CLK_TCK)
awk -v c0=$c0 -v c1=$c1 -v f0=$f0 -v f1=$f1 -v i0=$i0 -v i1=$i1 -v t0=$t0 -v t1=$t1 -v tck=$TCK -v l=$L 'BEGIN{cs=(c1-c0)/tck; fo=f1-f0; fi=i1-i0; w=t1-t0; printf "%s: window %.1fs cpu %.2fs (%.0f%% core) frames out %d (%.0f/s) in %d (%.0f/s): %.4f cpu-s per 1000 frames out\n", l, w, cs, 100*cs/w, fo, fo/w, fi, fi/w, 1000*cs/fo}' | tee $D/summary.txt
echo "$m0 $m1 $f0 $f1" | awk -v l=$L '{fo=$8-$7; printf "%s: mallocs per frame out %.2f, bytes allocated per frame out %.0f, GCs %d\n", l, ($4-$1)/fo, ($5-$2)/fo, $6-$3}' | tee -a $D/summary.txt
grep -iE "p50|p99|closed|latency" $D/load.txt | head -8
