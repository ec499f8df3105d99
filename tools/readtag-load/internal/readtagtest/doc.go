// Package readtagtest starts the real readtag server for the load tool's
// tests.
package readtagtest
