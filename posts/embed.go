package posts

import "embed"

// Embedded holds the posts shipped inside the binary (this folder's *.md).
//
//go:embed *.md
var Embedded embed.FS
