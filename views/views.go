// Package views holds readtag's HTML templates and renders them. Each page
// is its own file defining "content" (and "scripts"), executed inside
// layout.html's "layout".
package views

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"sync"
	"time"
)

// Embedded holds the templates shipped inside the binary.
//
//go:embed *.html
var Embedded embed.FS

// Pages are the templates every views folder must provide.
var Pages = []string{"index", "post", "tags", "error"}

// Views renders pages. It is safe for concurrent use.
type Views struct {
	fsys  fs.FS
	live  bool
	funcs template.FuncMap

	mu    sync.Mutex
	pages map[string]*template.Template
}

// Open parses every page in fsys and fails on the first broken one. funcs
// adds template functions (e.g. "asset"); "isodate" and "humandate" are
// built in. With live set, templates are parsed again on every render, so
// edits on disk show without a restart.
func Open(fsys fs.FS, live bool, funcs template.FuncMap) (*Views, error) {
	v := &Views{fsys: fsys, live: live, pages: make(map[string]*template.Template), funcs: template.FuncMap{
		"isodate":   func(t time.Time) string { return t.Format(time.DateOnly) },
		"humandate": func(t time.Time) string { return t.Format("2 January 2006") },
	}}
	for k, f := range funcs {
		v.funcs[k] = f
	}
	for _, name := range Pages {
		t, err := v.parse(name)
		if err != nil {
			return nil, err
		}
		v.pages[name] = t
	}
	return v, nil
}

func (v *Views) parse(name string) (*template.Template, error) {
	t, err := template.New(name).Funcs(v.funcs).ParseFS(v.fsys, "layout.html", name+".html")
	if err != nil {
		return nil, fmt.Errorf("parse view %s: %w", name, err)
	}
	return t, nil
}

// Render writes the page called name with data.
func (v *Views) Render(w io.Writer, name string, data any) error {
	v.mu.Lock()
	t, ok := v.pages[name]
	v.mu.Unlock()
	if !ok {
		return fmt.Errorf("render %s: no such view", name)
	}
	if v.live {
		fresh, err := v.parse(name)
		if err != nil {
			return err
		}
		t = fresh
	}
	if err := t.ExecuteTemplate(w, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return nil
}
