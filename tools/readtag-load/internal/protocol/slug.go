package protocol

import "regexp"

// SlugPattern matches a post's slug: lowercase letters and digits, in runs
// joined by single dashes.
var SlugPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
