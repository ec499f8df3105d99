package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// nofile is the open-files limit, raised to the hard limit once per process.
var nofile = sync.OnceValues(raiseFileLimit)

// limits are the flags that bound what one node accepts.
type limits struct {
	maxReaders, maxReadersPerIP, maxHTTPConns int
	ipv6Prefix                                int // bits of an IPv6 address that are one client
	trustedProxies                            []netip.Prefix
	metricsAddr                               string // "": /metrics and /healthz on --addr
}

// limitFlags holds the raw flag values until they are checked.
type limitFlags struct {
	maxReaders, maxReadersPerIP, maxHTTPConns, ipv6Prefix, trustedProxies, metricsAddr *string
	perIPDefault                                                                       string
}

// capDefaults derives the caps from the open-files limit: a reserve for
// files, cluster links and the listeners, three quarters of the rest for
// WebSockets and a quarter for plain HTTP connections.
func capDefaults(fds uint64) (readers, perIP, httpConns int) {
	if fds == 0 {
		fds = 1024 // unknown: the usual default
	}
	fds = min(fds, 1<<20)
	reserve := 64 + fds/20
	free := uint64(16)
	if fds > reserve+free {
		free = fds - reserve
	}
	readers = int(free * 3 / 4)
	httpConns = int(free) - readers
	perIP = max(1, min(100, readers/10))
	return readers, perIP, httpConns
}

func addLimitFlags(fset *flag.FlagSet, env func(name, def string) string) *limitFlags {
	fds, _ := nofile()
	readers, perIP, httpConns := capDefaults(fds)
	return &limitFlags{
		perIPDefault:    strconv.Itoa(perIP),
		maxReaders:      fset.String("max-readers", env("max-readers", strconv.Itoa(readers)), "the most live WebSockets (a `count`) this node accepts; beyond it an upgrade\ngets 503 and Retry-After (READTAG_MAX_READERS; default from the open-files\nlimit)"),
		maxReadersPerIP: fset.String("max-readers-per-ip", env("max-readers-per-ip", strconv.Itoa(perIP)), "the most live WebSockets (a `count`) one client address may hold; beyond\nit 429 (READTAG_MAX_READERS_PER_IP)"),
		ipv6Prefix:      fset.String("ipv6-prefix", env("ipv6-prefix", "64"), "IPv6 clients count against --max-readers-per-ip by the first `bits` of their\naddress (32 to 128; a subscriber holds a /64 or more); IPv4 clients\nby address (READTAG_IPV6_PREFIX)"),
		maxHTTPConns:    fset.String("max-http-conns", env("max-http-conns", strconv.Itoa(httpConns)), "the most plain HTTP connections (a `count`) held at once, WebSockets not\ncounted; beyond it the longest idle one is closed (READTAG_MAX_HTTP_CONNS;\ndefault from the open-files limit)"),
		trustedProxies:  fset.String("trusted-proxies", env("trusted-proxies", ""), "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For names the\nclient, for the per-address cap and the logs (READTAG_TRUSTED_PROXIES)"),
		metricsAddr:     fset.String("metrics-addr", env("metrics-addr", ""), "serve /metrics and /healthz on this `host:port` only, not on --addr\n(READTAG_METRICS_ADDR)"),
	}
}

func (f *limitFlags) parse(addr string) (limits, error) {
	var l limits
	for _, n := range []struct {
		flag string
		raw  string
		into *int
	}{{"max-readers", *f.maxReaders, &l.maxReaders}, {"max-readers-per-ip", *f.maxReadersPerIP, &l.maxReadersPerIP},
		{"max-http-conns", *f.maxHTTPConns, &l.maxHTTPConns}} {
		v, err := strconv.Atoi(strings.TrimSpace(n.raw))
		if err != nil || v < 1 || v > 1<<24 {
			return l, fmt.Errorf("--%s %q: want a whole number from 1 to %d", n.flag, n.raw, 1<<24)
		}
		*n.into = v
	}
	bits, err := strconv.Atoi(strings.TrimSpace(*f.ipv6Prefix))
	if err != nil || bits < 32 || bits > 128 {
		return l, fmt.Errorf("--ipv6-prefix %q: want a prefix length from 32 to 128 (64: one client per /64)", *f.ipv6Prefix)
	}
	l.ipv6Prefix = bits
	if l.maxReadersPerIP > l.maxReaders && *f.maxReadersPerIP == f.perIPDefault {
		l.maxReadersPerIP = l.maxReaders // a default, under a lower --max-readers
	}
	if l.maxReadersPerIP > l.maxReaders {
		return l, fmt.Errorf("--max-readers-per-ip %d is more than --max-readers %d", l.maxReadersPerIP, l.maxReaders)
	}
	for _, item := range strings.Split(*f.trustedProxies, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil {
				return l, fmt.Errorf("--trusted-proxies: %q is not an address or a CIDR like 10.0.0.0/8", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		l.trustedProxies = append(l.trustedProxies, p.Masked())
	}
	if l.metricsAddr = *f.metricsAddr; l.metricsAddr != "" {
		if err := checkHostPort(l.metricsAddr, 0); err != nil {
			return l, fmt.Errorf("--metrics-addr %q: %w", l.metricsAddr, err)
		}
		if l.metricsAddr == addr && !strings.HasSuffix(addr, ":0") {
			return l, fmt.Errorf("--metrics-addr %q: must differ from --addr", l.metricsAddr)
		}
	}
	return l, nil
}

func logLimits(log *slog.Logger, l limits) {
	fds, err := nofile()
	if err != nil {
		log.Warn("cannot raise the open-files limit", "err", err)
	}
	log.Info("limits", "open_files", fds, "max_readers", l.maxReaders, "max_readers_per_ip", l.maxReadersPerIP,
		"ipv6_prefix", l.ipv6Prefix, "max_http_conns", l.maxHTTPConns, "trusted_proxies", len(l.trustedProxies))
	if fds > 0 && uint64(l.maxReaders+l.maxHTTPConns) > fds {
		log.Warn("--max-readers plus --max-http-conns exceed the open-files limit; accepts will fail (and be retried) before the caps apply",
			"open_files", fds, "max_readers", l.maxReaders, "max_http_conns", l.maxHTTPConns)
	}
}
