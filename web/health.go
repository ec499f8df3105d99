package web

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/readtag/readtag"
)

// handleHealth serves GET /healthz: 200 while the node is ready (in a
// cluster: see actors.ClusterConfig.ReadyAfter), 503 otherwise, with the
// members it sees and, in a cluster, each peer's state and the missing ones.
func (s *Server) handleHealth(c *fiber.Ctx) error {
	ready, node, members := true, "local", []string{"local"}
	if s.cfg.Health != nil {
		ready, node, members = s.cfg.Health()
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if !ready {
		c.Status(fiber.StatusServiceUnavailable)
	}
	body := fiber.Map{"ready": ready, "node": node, "members": members}
	if s.cfg.Cluster != nil {
		st := s.cfg.Cluster()
		body["peers"], body["missing"] = peersJSON(st.Peers), append([]string{}, st.Missing...)
	}
	return c.JSON(body)
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
