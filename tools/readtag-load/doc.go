/*
Readtag-load loads a readtag server with simulated readers over the WebSocket
protocol v1 (docs/protocol.md) and measures what a reader would feel.

Usage:

	go run -C tools/readtag-load . SCENARIO [flags]
	go run -C tools/readtag-load . --make-posts DIR --count M

The tool is a module of its own (tools/readtag-load), run from the
repository's root as above; -C makes its directory the working directory, so
relative paths given to it (--json, chart --out) are taken from there. Build
it with go build -C tools/readtag-load -o /abs/path/readtag-load . to run it
from anywhere.

Scenarios:

	hot    --readers N (1000) on --post, each scrolling at --rate Hz (5), measured
	       for --duration (30s) once all have joined (connects spread over --ramp, 5s).
	       Reports scroll-to-ghost latency, updates/s, frames and bytes per client.
	       --baseline runs it against a naive server instead, --compare against both.
	       With --embed-sites the readers spread over embedded pages instead (below).
	       --zipf S --posts-count M (or --posts a,b,c) spreads them over M
	       posts instead, with Zipf-like popularity (the post of rank k, in
	       slug order, gets a share ∝ 1/k^S, every post at least one reader),
	       placed on the --targets by --place: random (each reader on a
	       target drawn at random, as a round-robin load balancer) or post
	       (every reader of a post on one target, by a hash of its path, as
	       a load balancer hashing the URI). The placement is drawn from a
	       fixed seed, so two runs place the same readers alike, and the JSON
	       lists each post's readers per target (scripts/capacity-sim).
	idle   --readers N over --posts-count M posts (or --posts a,b,c), still, for
	       --duration: connect success and the server's memory per reader.
	storm  --readers N joining --post (or, with --posts-count M or --posts a,b,c,
	       spread round-robin over M posts) within --ramp: join times (dial to
	       welcome) split into TCP connect (dial to established), upgrade
	       (established to the 101) and welcome (101 to the welcome frame), then
	       every reader's view must equal its room (all open readers of the
	       post but itself), polled until it does or --duration (30s) passes.
	       Exit code 1 when the views never agree. With --embed-sites the
	       readers join embedded pages instead (below).
	churn  --rate C connects/s, each connection closing --life (1s) after its
	       welcome, for --duration (60s): errors, and the server's goroutines and
	       memory before and after (--pid, --metrics) to spot leaks.
	baseline-server
	       the naive server alone, on --addr, until interrupted.
	bare-server
	       the bare echo server alone, on --addr, until interrupted (see below).
	mem-sweep
	       idle at each of --counts readers (1000,5000,10000,15000), each step
	       against a freshly started server (--server-cmd): memory per reader
	       at each count, as a table and (--json) a file `chart` draws.

# Embedded pages (hot, storm)

--embed-sites N --embed-pages M makes the readers join M pages of N sites
that embed readtag (issue 21) over GET /ws/embed?page=URL, each socket with
its site's Origin header, instead of posts. Site i's origin is
--embed-origin with {i} replaced by i (default http://site{i}.test; .test
names nothing real, and the tool never resolves them: they only travel in
headers). Page k is on site k mod N at /notes/load-NNNN, NNNN = k / N, so
every site has the same paths and only the site tells two rooms apart.
Readers go round-robin over the pages; the readers of one page take turns
at six spellings of its URL (as it is, a trailing slash, a query and a
fragment, the scheme and host in upper case, the default port, its dashes
percent-encoded), which the server must fold into one room: storm's view check then proves that no
spelling split a room and no two sites shared one. Before the run the tool
opens one socket on each site's first page of every target and stops with
the --sites value to give readtag if the server refuses the site (403):

	go run ./cmd/readtag --sites http://site0.test,http://site1.test,http://site2.test &
	go run -C tools/readtag-load . storm --readers 3000 --embed-sites 3 --embed-pages 300

readtag caps the live rooms of one site (--max-rooms-per-site, 1,000 by
default): more pages a site than that are refused with 503.

# How latency is measured

Every scroll's position encodes its send time: (unix ms mod 10000) / 10000.
The server keeps four decimals, exactly 1 ms, so a receiver turns a position
back into its send time and subtracts it from its own clock. This works
across the worker processes because they share the machine's clock; it wraps
every 10 s, so latencies of 10 s or more alias. Only delivered positions are
measured: readtag coalesces moves per 50 ms tick, so what is measured is what a
reader sees. Welcome and join positions are not samples.

With several --targets, hot also splits the latency into same node (the
reader that moved joined the same target as the receiver) and cross node
(another target), from each reader's target as of its welcome; movers owned
by another worker process are left out of the split. In crowd mode a
reader is shown the readers nearest to it, and with positions that encode
send times those are the ones whose moves arrived fastest: the split's
counts show how many samples each side had.

Percentiles come from a log-linear histogram (exact below 128 ms, within 1/64
above); --json includes its buckets for charts.

# Views (storm)

Each reader keeps its view as a count and the XOR of 64-bit hashes of the ids
it shows, updated by welcome, join and leave. That is compared with the room
computed from every reader's welcome (across worker processes) without
shipping every id of every view. A duplicate join, a missing leave or a
reader seeing itself all show up as mismatches.

# Scale

Each connection is a file: the tool raises its soft open-file limit to the
hard one, and (--procs 0) runs enough worker processes, re-executing itself,
that none holds more than 15,000 connections. Workers get the same plan and
take every P-th connection, so the schedule does not depend on P; they
stream their counters to the parent as JSON lines. Past about 28,000
connections to one server from one address the ephemeral ports
(32768-60999) run out: pass --source-ips 127.0.0.1,127.0.0.2,... to bind
connections to several loopback addresses round-robin. The server is a
process too: with 20,000 open files it cannot hold more than about 19,900
readers.

The tool shares the machine with the server it measures, so its own CPU is
kept low. The tool speaks WebSocket itself (internal/wsclient) and, on
Linux, reads every socket from one epoll loop per CPU: a frame costs one
read call, where a goroutine per socket costs a wake-up and a second read
(the EAGAIN before it parks) for every frame. https targets, and systems
without epoll, get a goroutine per socket. Two scroller goroutines
send every reader's scrolls from a heap ordered by send time, each wakeup
sending every scroll due within the next millisecond (a goroutine and timer
per reader cost a scheduler wakeup per scroll). --cpuprofile FILE writes a Go
CPU profile of the run (readers included unless they run in worker
processes, which then write FILE.0, FILE.1, ...); docs/perf/draft-tool.md
has the figures.

An idle run over M posts needs a server with M posts:

	go run -C tools/readtag-load . --make-posts /tmp/posts --count 100
	go run ./cmd/readtag --posts /tmp/posts &
	go run -C tools/readtag-load . idle --readers 10000 --posts-count 100

Memory per reader is the server's RSS growth over the open readers, so it is
only meaningful on a freshly started server. --pid may be the pid of `go run`:
the tool then samples its only child, the server.

# Memory per reader (idle, mem-sweep)

With --pid, idle reads the server's VmRSS from /proc/PID/status before the
first connect ("before"). Once every reader is welcomed (or failed) it waits
for RSS to settle: one sample a second until the last four lie within 0.5 %
(at least 256 KiB) of each other, at most 30 s (the run says so if it never
does; the JSON's samples show the curve). Only then does the measured window
of --duration open; RSS at its end is "hold", and memory per reader is
(hold - before) / readers open at the end. RSS includes garbage the Go
runtime has not collected yet and freed memory it has not handed back, the
same way for every server measured.

mem-sweep does that per reader count against a fresh server each time:
it picks a free loopback port, starts --server-cmd with {addr} replaced by
127.0.0.1:PORT (split on spaces, no shell), waits up to 30 s for GET
/healthz to answer 200, runs idle with --pid on it (its child, if the
command is `go run`), then closes its stdin, sends SIGTERM, and kills it
after 10 s. --server-cmd bare runs this tool's own bare server with
--buffers (and --shared-pinger, --reduce-memory). readtag refuses readers
past --max-readers, by default 3/4 of its free open files (14,202 of
20,000): raise it for 15,000. For example, readtag over 1,000 posts, then
the floor:

	go build -o /tmp/readtag ./cmd/readtag && go build -C tools/readtag-load -o /tmp/readtag-load .
	/tmp/readtag-load --make-posts /tmp/posts --count 1000
	S='/tmp/readtag --addr {addr} --posts /tmp/posts --log-level warn --max-readers 18000 --max-readers-per-ip 18000'
	/tmp/readtag-load mem-sweep --server-cmd "$S" --label readtag --posts-count 1000 --ramp 60s --json readtag.json
	/tmp/readtag-load mem-sweep --server-cmd bare --buffers default --ramp 60s --json bare.json
	/tmp/readtag-load mem-sweep --server-cmd bare --buffers trimmed --ramp 60s --json bare-trimmed.json
	/tmp/readtag-load chart --out docs/memory.png --target-kb 16 readtag.json bare.json bare-trimmed.json

`chart` draws mem-sweep results (and only those, when given them) as KiB per
reader against readers, one line per --label (a step re-run alone with the
same label replaces the earlier one), every figure in the legend; a step
where fewer than 99 % of the readers joined is ringed.

# The bare server

bare-server is the floor of readtag's stack: Fiber v2 and
gofiber/contrib/websocket as readtag uses them, doing only what an idle
reader needs. Its index lists load-0001 to load-1000 (the slugs of
--make-posts --count 1000), any well-formed slug is a post, GET /healthz
answers ok, and GET /ws/posts/:slug upgrades, sends a protocol-v1 welcome
(a random id, no other readers), then reads and drops frames while a second
goroutine pings every 5 s; a socket that answers nothing for 12 s is closed
(readtag's PingInterval and PongWait; readtag itself had two goroutines per
reader before it moved to one and a shared pinger).
No presence, rooms, actors or outbox. --shared-pinger pings every socket
from one goroutine instead, so that a reader costs one goroutine: what a
second goroutine per reader costs. --reduce-memory sets Fiber's
ReduceMemoryUsage: fasthttp hands a hijacked connection its 4 KiB HTTP read
buffer (and keeps the request context) for the socket's life unless that
frees the buffer first. --buffers picks the WebSocket
buffers: default (contrib's: 1 KiB read and write buffers for the life of
the connection), readtag (1 KiB, the write buffer pooled, as readtag's
/ws/posts) or trimmed (256 B read, 1 KiB pooled write).

--relay-tick T makes it the floor of a hot post as well: it keeps each
reader's latest scroll position, and every T (in turns every 10 ms, as
readtag's crowd tick) sends each reader a crowd frame with the latest
positions of the up to 24 readers after it (in join order) that moved since
its last frame, written by one worker goroutine per CPU. The hot scenario
then measures scroll→ghost latency against it exactly as against readtag:
what any server of that scenario on this stack and machine would get.

	/tmp/readtag-load bare-server --addr 127.0.0.1:18158 --buffers trimmed --shared-pinger --reduce-memory --relay-tick 100ms
	/tmp/readtag-load hot --readers 5000 --rate 5 --duration 20s --ramp 10s --targets http://127.0.0.1:18158 --post load-0001

# Safety

Only loopback targets are accepted unless --allow-remote is given. Every phase
has a time bound and the whole run a hard deadline; worker processes stop when
their parent's pipe closes.
*/
package main
