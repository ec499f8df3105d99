package web

import (
	"fmt"

	"github.com/readtag/readtag/internal/pagekey"
)

// Site is another site whose pages may show readtag's live readers through
// /embed.js (issue 21): its pages' rooms are keyed by its Name, and only
// pages served from one of its Origins may join them.
type Site struct {
	// Name is [a-z0-9][a-z0-9.:-]{0,62}, unique among the sites.
	Name string
	// Origins are "https://example.com" (see CanonicalOrigin); at least one,
	// and no origin belongs to two sites.
	Origins []string
}

// CheckSites returns sites with their origins made canonical, or an error
// naming the first bad name, bad origin or duplicate.
func CheckSites(sites []Site) ([]Site, error) {
	names := make(map[string]bool, len(sites))
	owner := make(map[string]string)
	out := make([]Site, 0, len(sites))
	for _, s := range sites {
		if !pagekey.ValidSiteName(s.Name) {
			return nil, fmt.Errorf("site name %q: want 1 to 63 of a-z 0-9 . : - starting with a letter or digit", s.Name)
		}
		if names[s.Name] {
			return nil, fmt.Errorf("site %q is named twice", s.Name)
		}
		names[s.Name] = true
		if len(s.Origins) == 0 {
			return nil, fmt.Errorf("site %q has no origin", s.Name)
		}
		c := Site{Name: s.Name, Origins: make([]string, 0, len(s.Origins))}
		for _, o := range s.Origins {
			canon, err := CanonicalOrigin(o)
			if err != nil {
				return nil, fmt.Errorf("site %q: %w", s.Name, err)
			}
			if prev, ok := owner[canon]; ok {
				if prev == s.Name {
					return nil, fmt.Errorf("site %q lists origin %s twice", s.Name, canon)
				}
				return nil, fmt.Errorf("origin %s belongs to two sites, %q and %q", canon, prev, s.Name)
			}
			owner[canon] = s.Name
			c.Origins = append(c.Origins, canon)
		}
		out = append(out, c)
	}
	return out, nil
}
