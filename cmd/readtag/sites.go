package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/readtag/readtag/web"
)

// maxSitesFile bounds a --sites-file: a line per site, so a megabyte is
// thousands of sites; a bigger file is a mistake (a wrong path, a log).
const maxSitesFile = 1 << 20

// parseSites reads --sites (comma-separated origins, each its own site,
// named after its host[:port]) and --sites-file, and checks them together.
func parseSites(list, file string) ([]web.Site, error) {
	var sites []web.Site
	for _, item := range strings.Split(list, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		origin, err := web.CanonicalOrigin(item)
		if err != nil {
			return nil, fmt.Errorf("--sites: %w", err)
		}
		u, _ := url.Parse(origin) // canonical, so it parses
		if strings.HasPrefix(u.Host, "[") {
			return nil, fmt.Errorf("--sites: %s: an IPv6 address cannot name a site; name it in a --sites-file", origin)
		}
		sites = append(sites, web.Site{Name: u.Host, Origins: []string{origin}})
	}
	if _, err := web.CheckSites(sites); err != nil {
		return nil, fmt.Errorf("--sites: %w", err)
	}
	if file != "" {
		fromFile, err := readSitesFile(file)
		if err != nil {
			return nil, fmt.Errorf("--sites-file: %w", err)
		}
		sites = append(sites, fromFile...)
	}
	checked, err := web.CheckSites(sites)
	if err != nil {
		return nil, fmt.Errorf("--sites and --sites-file: %w", err)
	}
	return checked, nil
}

// readSitesFile reads one site a line, "name origin [origin ...]", with
// blank lines and # comments; an error names the file and line.
func readSitesFile(name string) ([]web.Site, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSitesFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSitesFile {
		return nil, fmt.Errorf("%s: longer than %d bytes", name, maxSitesFile)
	}
	var sites []web.Site
	lineOf := make(map[string]int) // site names and origins (never alike: an origin has "//")
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxSitesFile)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !utf8.ValidString(line) || strings.ContainsFunc(line, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return nil, fmt.Errorf("%s:%d: not a line of text", name, n)
		}
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("%s:%d: want a site name and its origins, e.g. blog https://blog.example.com", name, n)
		}
		// Checked line by line too, so that an error names its line.
		checked, err := web.CheckSites([]web.Site{{Name: fields[0], Origins: fields[1:]}})
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		s := checked[0]
		if prev, ok := lineOf[s.Name]; ok {
			return nil, fmt.Errorf("%s:%d: site %q is already named on line %d", name, n, s.Name, prev)
		}
		lineOf[s.Name] = n
		for _, o := range s.Origins {
			if prev, ok := lineOf[o]; ok && prev != n {
				return nil, fmt.Errorf("%s:%d: origin %s is already a site's on line %d", name, n, o, prev)
			}
			lineOf[o] = n
		}
		sites = append(sites, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(sites) == 0 {
		return nil, errors.New(name + ": no sites in it")
	}
	return sites, nil
}
