package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// joinFlags let a node join a running cluster (actors.ClusterConfig.Join,
// PeersDNS, ForgetAfter, MaxMembers; docs/cluster.md).
type joinFlags struct {
	join, dns, forget, maxMembers *string
}

func addJoinFlags(fset *flag.FlagSet, env func(name, def string) string) *joinFlags {
	return &joinFlags{
		join:       fset.String("join", env("join", ""), "cluster mode: seed nodes of a running cluster to join, as comma-separated\n`host:port` (the id is read from the seed's certificate) or id@host:port;\nthe other members are learned from them. Lets any node the cluster CA\nsigned join this one (READTAG_JOIN)"),
		dns:        fset.String("peers-dns", env("peers-dns", ""), "cluster mode: a DNS `name:port` whose A/AAAA records are the cluster's nodes\n(a headless service), re-resolved every 5 s; like --join (READTAG_PEERS_DNS)"),
		forget:     fset.String("cluster-forget-after", env("cluster-forget-after", "5m"), "cluster mode: a node that joined (not in --peers) and is silent for this\n`duration` is forgotten: link closed, no longer in /healthz and /metrics\n(READTAG_CLUSTER_FORGET_AFTER)"),
		maxMembers: fset.String("cluster-max-members", env("cluster-max-members", "64"), "cluster mode: most nodes (a `count`, this one included) the node keeps as peers;\nmore that introduce themselves or are gossiped are refused\n(READTAG_CLUSTER_MAX_MEMBERS)"),
	}
}

// testResolveEnv names a file of host names or IPs, one a line, that
// --peers-dns resolves to instead of asking DNS. For tests only: a fake
// resolver for real processes, re-read at every resolution.
const testResolveEnv = "READTAG_TESTONLY_PEERS_DNS_FILE"

// apply checks the flags and sets them on the cluster (after clusterTLS).
func (f *joinFlags) apply(o *options, getenv func(string) string) error {
	given := strings.TrimSpace(*f.join) != "" || strings.TrimSpace(*f.dns) != ""
	if o.cluster == nil {
		if given {
			return errors.New("--join and --peers-dns need cluster mode (--node-id, --cluster-addr)")
		}
		return nil
	}
	cc := o.cluster
	for _, item := range strings.Split(*f.join, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		_, addr, ok := strings.Cut(item, "@")
		if !ok {
			addr = item
		}
		if err := checkHostPort(addr, 1); err != nil {
			return fmt.Errorf("--join: %q: %w", item, err)
		}
		if o.clusterCerts == nil && !loopback(addr) {
			return fmt.Errorf("--join: %q is not a loopback address, and --cluster-insecure allows only those", item)
		}
		cc.Join = append(cc.Join, item)
	}
	if dns := strings.TrimSpace(*f.dns); dns != "" {
		if err := checkHostPort(dns, 1); err != nil {
			return fmt.Errorf("--peers-dns %q: %w", dns, err)
		}
		if o.clusterCerts == nil {
			return errors.New("--peers-dns needs mutual TLS (--cluster-ca, --cluster-cert, --cluster-key): a node's id is read from its certificate")
		}
		cc.PeersDNS = dns
		if file := getenv(testResolveEnv); file != "" {
			cc.Resolve = resolveFromFile(file)
		}
	}
	forget, err := time.ParseDuration(strings.TrimSpace(*f.forget))
	if err != nil || forget < 10*time.Second || forget > 24*time.Hour {
		return fmt.Errorf("--cluster-forget-after %q: want a duration from 10s to 24h, like 5m", *f.forget)
	}
	members, err := count("cluster-max-members", *f.maxMembers, 64)
	if err != nil {
		return err
	}
	if members < len(cc.Peers)+1 || members > 1024 {
		return fmt.Errorf("--cluster-max-members %d: want from this node and its %d --peers (%d) to 1024", members, len(cc.Peers), len(cc.Peers)+1)
	}
	cc.ForgetAfter, cc.MaxMembers = forget, members
	if cc.Joining() && o.clusterCerts != nil {
		o.clusterCerts.AdmitJoiners()
	}
	return nil
}

// resolveFromFile is the test resolver (testResolveEnv).
func resolveFromFile(path string) func(context.Context, string) ([]string, error) {
	return func(context.Context, string) ([]string, error) {
		b, err := readSmallFile(path)
		if err != nil {
			return nil, err
		}
		var out []string
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				out = append(out, line)
			}
		}
		return out, nil
	}
}

func readSmallFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > 1<<16 {
		return nil, fmt.Errorf("%s: larger than 64 KiB", path)
	}
	return os.ReadFile(path)
}
