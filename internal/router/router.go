// Package router maps a request's host and path to the app that serves it,
// through an immutable route table swapped atomically when apps change.
//
// An app owns the path family /<app>/... on every host (the first path
// segment picks the app) and, when it claims hostnames, the whole of those
// hosts (served at their root, matched on the Host header without its port,
// case-insensitively). Claims are checked by the control plane when they are
// made; the router trusts them but stays deterministic if two apps ever claim
// one host: the lowest app name wins and the conflict is logged.
//
// Lookups read the current table through an atomic pointer, take no lock and,
// for hosts and paths as clients usually send them, allocate nothing.
package router

import (
	"cmp"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Route is one app's entry in a table: its name, the hosts it claims and a
// value the table's user attaches (the node keeps its per-app state there).
type Route[V any] struct {
	App   string
	Hosts []string
	Value V
}

// Table is an immutable route table. Its zero value routes nothing.
type Table[V any] struct {
	apps  map[string]*Route[V]
	hosts map[string]*Route[V] // normalized host -> route
}

// Len is the number of apps in t.
func (t *Table[V]) Len() int { return len(t.apps) }

// App returns the route of app, if t has it.
func (t *Table[V]) App(app string) (*Route[V], bool) {
	r, ok := t.apps[app]
	return r, ok
}

// Lookup returns the route serving a request to host (the Host header, port
// allowed) and path (the URL path), and rest, the path below the app's mount
// point: path itself on a claimed host, path without its first segment on
// the path family (at least "/"). ok is false when no app serves the request.
func (t *Table[V]) Lookup(host, path string) (r *Route[V], rest string, ok bool) {
	if len(t.hosts) > 0 && host != "" {
		if r, ok := t.hosts[hostKey(host)]; ok {
			return r, path, true
		}
	}
	name, rest := FirstSegment(path)
	if name == "" {
		return nil, "", false
	}
	r, ok = t.apps[name]
	if !ok {
		return nil, "", false
	}
	return r, rest, true
}

// FirstSegment splits path into its first segment (the app name on the
// path family) and the rest, which is at least "/": "/hello/a/b" gives
// "hello" and "/a/b"; "/hello" gives "hello" and "/".
func FirstSegment(path string) (seg, rest string) {
	if len(path) == 0 || path[0] != '/' {
		return "", path
	}
	p := path[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, "/"
}

// hostKey normalizes a Host header the way claimed hosts are stored: no
// port, no trailing dot, lowercase. It allocates only when host has
// uppercase letters.
func hostKey(host string) string {
	if host[0] == '[' { // IPv6 literal, "[::1]:8787"
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[:i+1]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(host)
		}
	}
	return host
}

// NormalizeHost is the form in which a claimed host is matched: lowercase,
// without port or trailing dot.
func NormalizeHost(host string) string {
	host = strings.TrimSpace(host)
	if host == "" {
		return ""
	}
	return hostKey(host)
}

// Router holds the current table and rebuilds it when apps change. Lookups
// (Table, then Table.Lookup) are lock-free; changes are serialized.
type Router[V any] struct {
	log *slog.Logger
	cur atomic.Pointer[Table[V]]

	mu     sync.Mutex
	routes map[string]Route[V] // the source of the next table
}

// New returns a router with an empty table. log receives host conflicts;
// nil discards them.
func New[V any](log *slog.Logger) *Router[V] {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router[V]{log: log, routes: make(map[string]Route[V])}
	r.cur.Store(&Table[V]{})
	return r
}

// Table returns the current table; it never changes, so a caller may keep
// it for the rest of a request.
func (r *Router[V]) Table() *Table[V] { return r.cur.Load() }

// Lookup is r.Table().Lookup(host, path).
func (r *Router[V]) Lookup(host, path string) (*Route[V], string, bool) {
	return r.cur.Load().Lookup(host, path)
}

// Change is one edit of the route set: Set adds or replaces Route (by its
// App), Delete removes the app named Route.App.
type Change[V any] struct {
	Route  Route[V]
	Delete bool
}

// Apply makes every change and publishes one new table.
func (r *Router[V]) Apply(changes ...Change[V]) {
	if len(changes) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range changes {
		if c.Delete {
			delete(r.routes, c.Route.App)
			continue
		}
		c.Route.Hosts = normalizeHosts(c.Route.Hosts)
		r.routes[c.Route.App] = c.Route
	}
	r.publishLocked()
}

// Set adds or replaces one app's route.
func (r *Router[V]) Set(route Route[V]) { r.Apply(Change[V]{Route: route}) }

// Delete removes app's route; removing an absent app does nothing.
func (r *Router[V]) Delete(app string) { r.Apply(Change[V]{Route: Route[V]{App: app}, Delete: true}) }

// Replace makes routes the whole route set.
func (r *Router[V]) Replace(routes []Route[V]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = make(map[string]Route[V], len(routes))
	for _, rt := range routes {
		rt.Hosts = normalizeHosts(rt.Hosts)
		r.routes[rt.App] = rt
	}
	r.publishLocked()
}

func (r *Router[V]) publishLocked() {
	t := &Table[V]{apps: make(map[string]*Route[V], len(r.routes))}
	names := make([]string, 0, len(r.routes))
	nhosts := 0
	for name, rt := range r.routes {
		names = append(names, name)
		nhosts += len(rt.Hosts)
	}
	// Hosts are assigned in name order so that the lowest name wins a
	// conflict, whatever order the changes came in.
	slices.SortFunc(names, cmp.Compare)
	if nhosts > 0 {
		t.hosts = make(map[string]*Route[V], nhosts)
	}
	for _, name := range names {
		rt := r.routes[name]
		p := &rt
		t.apps[name] = p
		for _, h := range rt.Hosts {
			if owner, taken := t.hosts[h]; taken {
				if owner != p {
					r.log.Warn("host claimed by two apps; the first name wins", "host", h, "app", owner.App, "loser", name)
				}
				continue
			}
			t.hosts[h] = p
		}
	}
	r.cur.Store(t)
}

func normalizeHosts(hosts []string) []string {
	if len(hosts) == 0 {
		return nil
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if h = NormalizeHost(h); h != "" {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
