package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/readtag/readtag/actors"
)

// peerFlags are what one cluster peer may send and hold on this node
// (actors.BudgetConfig, ClusterConfig.MaxRemoteReaders and MaxPostReaders).
type peerFlags struct {
	messages, bytes, cooldown, readers, postReaders *string
}

func addPeerFlags(fset *flag.FlagSet, env func(name, def string) string) *peerFlags {
	return &peerFlags{
		messages:    fset.String("cluster-peer-messages", env("cluster-peer-messages", "5000"), "cluster mode: the most messages a second (a `count`) one peer may send;\nbeyond them (after a burst of two seconds' worth) they are dropped\n(READTAG_CLUSTER_PEER_MESSAGES)"),
		bytes:       fset.String("cluster-peer-bytes", env("cluster-peer-bytes", "8MiB"), "cluster mode: bytes a second (a `size`: 8MiB) one peer may send; beyond them\nits reads are slowed (READTAG_CLUSTER_PEER_BYTES)"),
		cooldown:    fset.String("cluster-peer-cooldown", env("cluster-peer-cooldown", "30s"), "cluster mode: a peer over its budget for 3 s is disconnected and refused\nfor this `duration` (READTAG_CLUSTER_PEER_COOLDOWN)"),
		readers:     fset.String("cluster-max-readers", env("cluster-max-readers", ""), "cluster mode: the most readers (a `count`) one peer may have on this node;\nmore are not created (READTAG_CLUSTER_MAX_READERS; default --max-readers)"),
		postReaders: fset.String("cluster-max-post-readers", env("cluster-max-post-readers", ""), "cluster mode: the most readers (a `count`) one peer may have on one post\n(READTAG_CLUSTER_MAX_POST_READERS; default --cluster-max-readers)"),
	}
}

// apply checks the flags and sets them on cc; maxReaders is --max-readers.
func (f *peerFlags) apply(cc *actors.ClusterConfig, maxReaders int) error {
	msgs, err := strconv.ParseFloat(strings.TrimSpace(*f.messages), 64)
	if err != nil || msgs < 1 || msgs > 1e7 || msgs != msgs {
		return fmt.Errorf("--cluster-peer-messages %q: want a number from 1 to 10000000", *f.messages)
	}
	bytes, err := parseSize(*f.bytes)
	if err != nil || bytes < 64<<10 {
		return fmt.Errorf("--cluster-peer-bytes %q: want a size of at least 64KiB, like 8MiB", *f.bytes)
	}
	cooldown, err := time.ParseDuration(strings.TrimSpace(*f.cooldown))
	if err != nil || cooldown < time.Second || cooldown > 24*time.Hour {
		return fmt.Errorf("--cluster-peer-cooldown %q: want a duration from 1s to 24h, like 30s", *f.cooldown)
	}
	readers, err := count("cluster-max-readers", *f.readers, maxReaders)
	if err != nil {
		return err
	}
	post, err := count("cluster-max-post-readers", *f.postReaders, readers)
	if err != nil {
		return err
	}
	cc.Budget = actors.BudgetConfig{Messages: msgs, Bytes: float64(bytes), Cooldown: cooldown}
	cc.MaxRemoteReaders, cc.MaxPostReaders = readers, post
	return nil
}

// count reads a whole number flag from 1 to 1<<24, def if unset.
func count(name, raw string, def int) (int, error) {
	if strings.TrimSpace(raw) == "" {
		return def, nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || v < 1 || v > 1<<24 {
		return 0, fmt.Errorf("--%s %q: want a whole number from 1 to %d", name, raw, 1<<24)
	}
	return v, nil
}
