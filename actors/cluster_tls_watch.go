package actors

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"math"
	"os"
	"time"
)

// certPoll is how often Watch reads the certificate files: three small
// files, a few times a minute, so a rotation on disk is taken within
// two polls without a signal.
const certPoll = 2 * time.Second

// When Watch logs a certificate's expiry: once at start (or when the
// certificate comes into use) at info; within expirySoon at warn, daily;
// within expiryVerySoon at warn, hourly; once expired at error, hourly.
// Before, a certificate that expired while the node ran went unnoticed:
// the links kept working until a restart, then both sides refused each
// other with nothing logged but "bad certificate" (issue 20, item 5).
const (
	expirySoon     = 30 * 24 * time.Hour
	expiryVerySoon = 7 * 24 * time.Hour
)

// expiryBand is how close a certificate is to its expiry.
type expiryBand int

const (
	bandFine expiryBand = iota
	bandSoon
	bandVerySoon
	bandExpired
)

func bandOf(left time.Duration) expiryBand {
	switch {
	case left <= 0:
		return bandExpired
	case left <= expiryVerySoon:
		return bandVerySoon
	case left <= expirySoon:
		return bandSoon
	}
	return bandFine
}

// every is how often a certificate in band b is logged again; zero: once.
func (b expiryBand) every() time.Duration {
	switch b {
	case bandSoon:
		return 24 * time.Hour
	case bandVerySoon, bandExpired:
		return time.Hour
	}
	return 0
}

// expiryLog is when a certificate's expiry was last logged, and in which
// band.
type expiryLog struct {
	at   time.Time
	band expiryBand
}

// Watch follows the certificate files until ctx ends: it logs each
// certificate's expiry (see expirySoon), and re-reads the files every
// certPoll and whenever reload receives (SIGHUP). A change seen by polling
// is taken once two polls read the same contents, so that files still
// being written (a certificate without its new key yet) are not refused.
// A set that cannot be used is refused with an error naming why, once per
// content, and the set in use stays.
func (c *ClusterCerts) Watch(ctx context.Context, log *slog.Logger, reload <-chan os.Signal) {
	c.checkExpiry(log)
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			c.reloadAsked(log)
		case <-t.C:
			c.pollFiles(log)
		}
		c.checkExpiry(log)
	}
}

// reloadAsked re-reads the files at once: the operator asked.
func (c *ClusterCerts) reloadAsked(log *slog.Logger) {
	took, err := c.Reload()
	switch {
	case err != nil:
		c.logRefused(log, err)
	case took:
		c.logTaken(log)
	default:
		log.Info("cluster certificates unchanged on disk", c.fileAttrs()...)
	}
}

// pollFiles takes a change on disk once it has settled.
func (c *ClusterCerts) pollFiles(log *slog.Logger) {
	c.mu.Lock()
	f := c.read()
	settled := f.sum == c.seen
	c.seen = f.sum
	if f.sum == c.applied || !settled || f.sum == c.lastRefused {
		c.mu.Unlock()
		return
	}
	took, err := c.take(f)
	c.mu.Unlock()
	if err != nil {
		c.logRefused(log, err)
	} else if took {
		c.logTaken(log)
	}
}

func (c *ClusterCerts) logRefused(log *slog.Logger, err error) {
	log.Error("cluster certificates refused: the ones in use stay", append(c.fileAttrs(), "err", err)...)
}

func (c *ClusterCerts) logTaken(log *slog.Logger) {
	s := c.cur.Load()
	log.Info("cluster certificates reloaded: new connections use them, established ones are kept",
		append(c.fileAttrs(), "serial", s.leaf.SerialNumber.Text(16), "expires", s.leaf.NotAfter.UTC().Format(time.RFC3339), "cas", len(s.cas))...)
}

func (c *ClusterCerts) fileAttrs() []any {
	return []any{"ca", c.caFile, "cert", c.certFile, "key", c.keyFile}
}

// checkExpiry logs the expiry of each certificate in use when it is due
// (see expirySoon).
func (c *ClusterCerts) checkExpiry(log *slog.Logger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	logged := make(map[[sha256.Size]byte]expiryLog)
	for _, rc := range c.cur.Load().all() {
		key := sha256.Sum256(rc.cert.Raw)
		left := rc.cert.NotAfter.Sub(now)
		b := bandOf(left)
		last, seen := c.logged[key]
		logged[key] = last
		if seen && b <= last.band && (b == bandFine || now.Sub(last.at) < b.every()) {
			continue
		}
		logged[key] = expiryLog{at: now, band: b}
		file := c.certFile
		if rc.role == "ca" {
			file = c.caFile
		}
		days := math.Round(left.Hours()/24*10) / 10
		if days == 0 {
			days = 0 // not -0, just after expiry
		}
		attrs := []any{"cert", rc.role, "file", file, "subject", rc.cert.Subject.CommonName,
			"serial", rc.cert.SerialNumber.Text(16), "expires", rc.cert.NotAfter.UTC().Format(time.RFC3339),
			"days_left", days}
		switch b {
		case bandFine:
			log.Info("cluster certificate in use", attrs...)
		case bandSoon, bandVerySoon:
			log.Warn("cluster certificate expires soon: renew it (the node re-reads it from disk)", attrs...)
		default:
			log.Error("cluster certificate has expired: new connections between nodes that need it are refused; renew it (the node re-reads it from disk)", attrs...)
		}
	}
	c.logged = logged
}
