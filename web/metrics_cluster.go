package web

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/readtag/readtag"
)

// peerStates are the values of readtag_cluster_peer_state's state label.
var peerStates = []string{"up", "one-way", "down"}

// clusterMetrics reads the cluster's status at every scrape.
type clusterMetrics struct {
	status   func() readtag.ClusterStatus
	state    *prometheus.Desc
	heard    *prometheus.Desc
	counters map[string]*prometheus.Desc
	// With TLS: each certificate's time left, and the reloads.
	expiry, reloads *prometheus.Desc
}

func clusterCollector(status func() readtag.ClusterStatus) *clusterMetrics {
	counter := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("readtag_cluster_"+name+"_total", help, nil, nil)
	}
	return &clusterMetrics{
		status:  status,
		state:   prometheus.NewDesc("readtag_cluster_peer_state", "1 for each peer's current state (up: both directions work; one-way: it does not hear us; down: silent).", []string{"peer", "state"}, nil),
		heard:   prometheus.NewDesc("readtag_cluster_peer_heard_age_seconds", "Seconds since each peer was last heard (absent if never).", []string{"peer"}, nil),
		expiry:  prometheus.NewDesc("readtag_cluster_cert_expiry_seconds", "Seconds until each cluster certificate in use expires, negative once expired (cert: node or ca; a CA bundle has one series per CA).", []string{"cert", "subject", "serial"}, nil),
		reloads: prometheus.NewDesc("readtag_cluster_cert_reloads_total", "Sets of cluster certificates read from disk while running (result: taken or refused; a refused set leaves the one in use).", []string{"result"}, nil),
		counters: map[string]*prometheus.Desc{
			"resyncs":            counter("resyncs", "Snapshots asked of peers (a new peer, a gap in seq, a restart, a replica that went quiet)."),
			"snapshots_sent":     counter("snapshots_sent", "Snapshots of this node's readers sent to peers."),
			"snapshots_received": counter("snapshots_received", "Snapshots received from peers."),
			"replica_expiries":   counter("replica_expiries", "Peers whose readers were dropped because their tracker went silent."),
			"link_stalls":        counter("link_stalls", "Links to peers dropped and re-dialled because writes stalled or the peer stopped hearing us."),
			"link_drops":         counter("link_drops", "Connections to peers that broke."),
			"link_dial_failures": counter("link_dial_failures", "Failed dials to peers."),
			"link_dropped":       counter("link_dropped_messages", "Messages for a peer dropped because its queue was full."),
			"address_changes":    counter("address_changes", "Peers followed to a new address."),
			"peer_state_changes": counter("peer_state_changes", "Changes of a peer's state."),
			"ready_changes":      counter("ready_changes", "Changes of this node's readiness."),
			"peer_changes_held":  counter("peer_changes_held", "Changes of a peer (a new incarnation, a new address, coming up again) held back: too soon after the last, or a new address while the link works."),
			"budget_dropped":     counter("budget_dropped_messages", "Messages from peers dropped because the peer was over its messages-a-second budget."),
			"budget_throttled":   counter("budget_throttled_reads", "Reads from peers slowed down because the peer was over its bytes-a-second budget."),
			"budget_disconnects": counter("budget_disconnects", "Peers disconnected for staying over their budget past the grace."),
			"budget_refused":     counter("budget_refused_connections", "Connections from peers refused while they cooled down after a disconnect."),
			"inbox_dropped":      counter("inbox_dropped_messages", "Messages from peers dropped because that peer already had too many waiting for the tracker or the provider."),
			"room_dropped":       counter("room_dropped_messages", "Other nodes' reader changes not queued for a room that had too many waiting (the room is re-synced instead)."),
			"readers_refused":    counter("remote_readers_refused", "Readers peers announced beyond the caps per peer and per post, not created."),
			"deltas_received":    counter("deltas_received", "Reader changes (joins, moves, leaves) received from peers; a node gets a post's only while it has a room for it."),
			"bytes_received":     counter("bytes_received", "Bytes read from peers' connections (all cluster traffic in)."),
			"counts_received":    counter("counts_received", "Counts messages (peers' readers per post, for the index) received."),
			"interest_sent":      counter("interest_sent", "Interest messages sent to peers (posts this node starts or stops caring about)."),
			"interest_refused":   counter("interest_refused", "Posts a peer said it cares about beyond the cap, ignored."),
			"partial_snapshots":  counter("partial_snapshots_received", "Partial snapshots (a peer's readers of posts this node started caring about) taken."),
			"members_joined":     counter("members_joined", "Nodes that were not configured peers made peers at run time (seeds, DNS, gossip, a node introducing itself)."),
			"members_forgotten":  counter("members_forgotten", "Nodes that joined, forgotten after being silent too long (or gossiped names that never came up)."),
			"members_refused":    counter("members_refused", "Nodes not taken as peers: at the member cap, or too many gossiped names not yet up."),
			"duplicates_refused": counter("duplicates_refused", "Processes refused because another live process already ran under their node id."),
			"stalls":             counter("stalls", "Times this node noticed it had been stalled (its own tick late by over half the failure timeout) and gave its peers a grace."),
			"relay_sent":         counter("relay_sent", "Messages for a peer that does not hear this node directly also sent through a relay (a third node)."),
			"relay_carried":      counter("relay_carried", "Messages this node carried as a relay from one peer to another."),
			"relay_delivered":    counter("relay_delivered", "Messages a relay carried to this node from a peer it does not hear directly, taken."),
			"relay_duplicates":   counter("relay_duplicates", "Messages a relay carried to this node from a peer it hears directly again, dropped (the direct copy counts)."),
			"relay_refused":      counter("relay_refused", "Relay messages refused: not the sender's own, past the relay budget, to or from a node not up here, or a relay inside a relay."),
		},
	}
}

func (m *clusterMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.state
	ch <- m.heard
	ch <- m.expiry
	ch <- m.reloads
	for _, d := range m.counters {
		ch <- d
	}
}

func (m *clusterMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.status()
	for _, p := range st.Peers {
		for _, s := range peerStates {
			v := 0.0
			if p.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, v, p.ID, s)
		}
		if p.HeardAgo >= 0 {
			ch <- prometheus.MustNewConstMetric(m.heard, prometheus.GaugeValue, p.HeardAgo.Seconds(), p.ID)
		}
	}
	for name, d := range m.counters {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(st.Counters[name]))
	}
	if st.TLS != nil {
		now := time.Now()
		for _, c := range st.TLS.Certs {
			ch <- prometheus.MustNewConstMetric(m.expiry, prometheus.GaugeValue, c.NotAfter.Sub(now).Seconds(), c.Role, c.Subject, c.Serial)
		}
		ch <- prometheus.MustNewConstMetric(m.reloads, prometheus.CounterValue, float64(st.TLS.Reloads), "taken")
		ch <- prometheus.MustNewConstMetric(m.reloads, prometheus.CounterValue, float64(st.TLS.Refused), "refused")
	}
}
