#!/usr/bin/env python3
# Used for docs/perf/draft-mem.md. usage: mem-attr.py BINARY HEAP METRICS VARS (see the draft for how they are taken)
# attr.py BIN HEAP METRICS VARS: live heap (after a forced GC, 4 KiB-sampled profile) and stacks per open reader, by component.
import re, subprocess, sys, json
binp, heap, metrics, vars_ = sys.argv[1:5]
readers = next(float(l.split()[1]) for l in open(metrics) if l.startswith('readtag_readers '))
out = subprocess.run(['go','tool','pprof','-traces','-sample_index=inuse_space',binp,heap],capture_output=True,text=True).stdout
comps = [
 ('fasthttp 4 KiB request reader kept with the hijacked conn', lambda s: 'bufio.NewReaderSize' in s[0] and 'fasthttp.acquireReader' in ' '.join(s)),
 ('fasthttp request ctx + header buffers kept from the upgrade', lambda s: any('valyala/fasthttp' in f for f in s[:3]) ),
 ('contrib/websocket Conn + its 5 maps', lambda s: any('gofiber/contrib/websocket' in f for f in s[:2])),
 ('WebSocket read buffer + Conn struct', lambda s: any('fasthttp/websocket.newConn' in f for f in s[:3])),
 ('writer goroutine heap (encode buffer, ping ticker)', lambda s: any(x in ' '.join(s[:4]) for x in ('web.(*Server).write','time.NewTicker'))),
 ('outbox (struct, queue arrays)', lambda s: any('web.(*outbox)' in f or 'web.newOutbox' in f for f in s[:2])),
 ('goroutine descriptors (g)', lambda s: 'runtime.malg' in ' '.join(s[:3])),
 ('Hollywood (process, context, PID, inbox, registry)', lambda s: any('anthdm/hollywood' in f for f in s[:3])),
 ('crowd state (visible maps, crowd updates)', lambda s: any('crowd' in f.lower() or 'room).visible' in f for f in s[:2])),
 ('room/monitor/conn actors (member, join timer, watches)', lambda s: any('readtag/actors' in f for f in s[:3]) or 'time.newTimer' in s[0]),
 ('connection tracking, net.Conn, per-reader read state', lambda s: any(x in ' '.join(s[:4]) for x in ('web.(*trackingListener)','net.newFD','net.sockaddrToTCP','anyToSockaddr','web.(*Server).read','web.(*Server).runWS','web.(*Server).serveWS','netpoll'))),
]
tot = {}
other = {}
for block in out.split('-----------+-------------------------------------------------------')[1:]:
    lines = [l for l in block.strip().split('\n') if l.strip() and not l.strip().startswith('bytes:')]
    if not lines: continue
    m = re.match(r'\s*([\d.]+)([kMG]?B)\s+(\S+)', lines[0])
    if not m: continue
    v = float(m.group(1)) * {'B':1,'kB':1024,'MB':1<<20,'GB':1<<30}[m.group(2)]
    stack = [m.group(3)] + [l.strip() for l in lines[1:]]
    for name, f in comps:
        if f(stack):
            tot[name] = tot.get(name,0)+v; break
    else:
        tot['other heap'] = tot.get('other heap',0)+v
        other[stack[0]] = other.get(stack[0],0)+v
ms = json.load(open(vars_))['memstats']
print(f'open readers {readers:.0f}; HeapAlloc {ms["HeapAlloc"]/readers:.0f} B/reader; HeapInuse {ms["HeapInuse"]/readers:.0f}; StackInuse {ms["StackInuse"]/readers:.0f}; Sys {ms["Sys"]/readers:.0f}; goroutines n/a')
s = 0
for name,_ in comps + [('other heap',None)]:
    b = tot.get(name,0)/readers; s += b
    print(f'| {name} | {b:,.0f} |')
print(f'| heap profiled total | {s:,.0f} |')
print('top other:', sorted(((round(v/readers),k) for k,v in other.items()), reverse=True)[:6])
