package web

import (
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag"
)

// handleHealth serves GET /healthz on the public port: 200 while the node
// is ready (in a cluster: see actors.ClusterConfig.ReadyAfter), 503
// otherwise. A client on this machine (see fromThisMachine) gets the full
// view: the members this node sees, the missing ones, and the peers' states
// and cluster addresses. Anyone else, a load balancer included, gets what a
// load balancer needs and nothing that maps the cluster: the status, this
// node's id, and how many members are up of how many there should be.
func (s *Server) handleHealth(c *fiber.Ctx) error {
	return s.health(c, fromThisMachine(c))
}

// handlePrivateHealth serves GET /healthz on the metrics listener
// (ServeMetrics), which is private: always the full view.
func (s *Server) handlePrivateHealth(c *fiber.Ctx) error {
	return s.health(c, true)
}

func (s *Server) health(c *fiber.Ctx, full bool) error {
	ready, node, members := true, "local", []string{"local"}
	if s.cfg.Health != nil {
		ready, node, members = s.cfg.Health()
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if !ready {
		c.Status(fiber.StatusServiceUnavailable)
	}
	var missing []string
	if s.cfg.Cluster != nil {
		missing = s.cfg.Cluster().Missing
	}
	if !full {
		return c.JSON(fiber.Map{"ready": ready, "node": node, "up": len(members), "of": len(members) + len(missing)})
	}
	body := fiber.Map{"ready": ready, "node": node, "members": members}
	if s.cfg.Cluster != nil {
		st := s.cfg.Cluster()
		body["missing"] = append([]string{}, st.Missing...)
		body["peers"] = peersJSON(st.Peers)
	}
	return c.JSON(body)
}

// fromThisMachine reports whether a request comes from this machine itself:
// its TCP peer is a loopback address and it carries no forwarding header.
// The peer alone is not enough: a reverse proxy on this machine connects
// from loopback too, with requests from anywhere, whether or not it is in
// Config.TrustedProxies. So a forwarded request never counts, whatever the
// header names (clientIP would name the client; here only "not forwarded"
// matters).
func fromThisMachine(c *fiber.Ctx) bool {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	if !peer.Unmap().IsLoopback() {
		return false
	}
	h := &c.Request().Header
	for _, name := range []string{fiber.HeaderXForwardedFor, fiber.HeaderForwarded, "X-Real-IP"} {
		if len(h.PeekAll(name)) > 0 {
			return false
		}
	}
	return true
}

// peerJSON is one peer in /healthz.
type peerJSON struct {
	ID    string `json:"id"`
	Addr  string `json:"addr"`
	State string `json:"state"`
	Link  bool   `json:"link"`
	// Ages in milliseconds; null means never.
	HeardAgoMS   *int64 `json:"heard_ago_ms"`
	HeardUsAgoMS *int64 `json:"heard_us_ago_ms"`
}

func peersJSON(peers []readtag.PeerStatus) []peerJSON {
	out := make([]peerJSON, 0, len(peers))
	ms := func(d time.Duration) *int64 {
		if d < 0 {
			return nil
		}
		v := d.Milliseconds()
		return &v
	}
	for _, p := range peers {
		out = append(out, peerJSON{ID: p.ID, Addr: p.Addr, State: p.State, Link: p.Link, HeardAgoMS: ms(p.HeardAgo), HeardUsAgoMS: ms(p.HeardUsAgo)})
	}
	return out
}
