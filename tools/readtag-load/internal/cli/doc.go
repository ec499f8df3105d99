// Package cli holds what the load tool's command-line parsers share: the
// error for a bad command line, on which the tool exits with code 2.
package cli
