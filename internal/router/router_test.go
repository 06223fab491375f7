package router

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestLookupPathFamily(t *testing.T) {
	r := New[int](nil)
	r.Apply(Change[int]{Route: Route[int]{App: "hello", Value: 1}}, Change[int]{Route: Route[int]{App: "a-2", Value: 2}})
	for _, tc := range []struct {
		host, path string
		app, rest  string
		ok         bool
	}{
		{"127.0.0.1:8787", "/hello/anything", "hello", "/anything", true},
		{"127.0.0.1:8787", "/hello", "hello", "/", true},
		{"127.0.0.1:8787", "/hello/", "hello", "/", true},
		{"x", "/a-2/b/c", "a-2", "/b/c", true},
		{"", "/hello/x", "hello", "/x", true},
		{"x", "/Hello/x", "", "", false}, // names are lowercase; paths are case-sensitive
		{"x", "/helloo/x", "", "", false},
		{"x", "/", "", "", false},
		{"x", "", "", "", false},
		{"x", "hello/x", "", "", false},
		{"x", "//hello", "", "", false},
	} {
		rt, rest, ok := r.Lookup(tc.host, tc.path)
		if ok != tc.ok {
			t.Errorf("Lookup(%q, %q) ok = %v, want %v", tc.host, tc.path, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if rt.App != tc.app || rest != tc.rest {
			t.Errorf("Lookup(%q, %q) = %q %q, want %q %q", tc.host, tc.path, rt.App, rest, tc.app, tc.rest)
		}
	}
}

func TestLookupHosts(t *testing.T) {
	r := New[string](nil)
	r.Set(Route[string]{App: "api", Hosts: []string{"API.example.com", "api.example.org."}, Value: "v"})
	r.Set(Route[string]{App: "web"})
	for _, tc := range []struct {
		host, path string
		app, rest  string
		ok         bool
	}{
		{"api.example.com", "/", "api", "/", true},
		{"api.example.com:8787", "/users/1", "api", "/users/1", true},
		{"API.Example.COM", "/x", "api", "/x", true},
		{"api.example.com.", "/x", "api", "/x", true},
		{"api.example.org", "/x", "api", "/x", true},
		// A claimed host belongs to its app entirely, even for a path that
		// names another app.
		{"api.example.com", "/web/x", "api", "/web/x", true},
		// The app stays reachable on its path family elsewhere.
		{"127.0.0.1:8787", "/api/x", "api", "/x", true},
		{"other.example.com", "/web/", "web", "/", true},
		{"other.example.com", "/", "", "", false},
		{"[::1]:8787", "/web/a", "web", "/a", true},
	} {
		rt, rest, ok := r.Lookup(tc.host, tc.path)
		if ok != tc.ok {
			t.Errorf("Lookup(%q, %q) ok = %v, want %v", tc.host, tc.path, ok, tc.ok)
			continue
		}
		if ok && (rt.App != tc.app || rest != tc.rest) {
			t.Errorf("Lookup(%q, %q) = %q %q, want %q %q", tc.host, tc.path, rt.App, rest, tc.app, tc.rest)
		}
	}
	if rt, _, _ := r.Lookup("api.example.com", "/"); rt.Value != "v" {
		t.Errorf("route value = %q, want %q", rt.Value, "v")
	}
}

func TestDeleteAndReplace(t *testing.T) {
	r := New[int](nil)
	r.Set(Route[int]{App: "a", Hosts: []string{"a.test"}})
	r.Set(Route[int]{App: "b"})
	old := r.Table()
	r.Delete("a")
	if _, _, ok := r.Lookup("a.test", "/"); ok {
		t.Error("deleted app's host still routed")
	}
	if _, _, ok := r.Lookup("x", "/a/"); ok {
		t.Error("deleted app's path still routed")
	}
	// A table taken before the change is unchanged.
	if _, _, ok := old.Lookup("a.test", "/"); !ok {
		t.Error("old table changed")
	}
	r.Delete("nope")
	r.Replace([]Route[int]{{App: "c"}})
	if r.Table().Len() != 1 {
		t.Errorf("after Replace: %d apps, want 1", r.Table().Len())
	}
	if _, _, ok := r.Lookup("x", "/b/"); ok {
		t.Error("Replace kept an app")
	}
	// Changing an app's hosts drops the old ones.
	r.Set(Route[int]{App: "c", Hosts: []string{"one.test"}})
	r.Set(Route[int]{App: "c", Hosts: []string{"two.test"}})
	if _, _, ok := r.Lookup("one.test", "/"); ok {
		t.Error("host dropped from an app still routed")
	}
	if _, _, ok := r.Lookup("two.test", "/"); !ok {
		t.Error("new host not routed")
	}
}

func TestHostConflictLowestNameWins(t *testing.T) {
	for _, order := range [][]string{{"zeta", "alpha", "mid"}, {"alpha", "mid", "zeta"}, {"mid", "zeta", "alpha"}} {
		var logs bytes.Buffer
		r := New[int](slog.New(slog.NewTextHandler(&logs, nil)))
		for _, name := range order {
			r.Set(Route[int]{App: name, Hosts: []string{"shared.test"}})
		}
		rt, _, ok := r.Lookup("shared.test", "/")
		if !ok || rt.App != "alpha" {
			t.Errorf("order %v: shared host served by %v, want alpha", order, rt)
		}
		if !strings.Contains(logs.String(), "host claimed by two apps") {
			t.Errorf("order %v: conflict not logged: %s", order, logs.String())
		}
		r.Delete("alpha")
		if rt, _, _ := r.Lookup("shared.test", "/"); rt.App != "mid" {
			t.Errorf("order %v: after deleting alpha, served by %s, want mid", order, rt.App)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM":        "example.com",
		"example.com:8080":   "example.com",
		"example.com.":       "example.com",
		" example.com ":      "example.com",
		"[::1]:80":           "[::1]",
		"":                   "",
		"api.example.com.:1": "api.example.com",
	} {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLookupAllocatesNothing(t *testing.T) {
	r := New[int](nil)
	r.Set(Route[int]{App: "hello", Hosts: []string{"api.example.com"}})
	allocs := testing.AllocsPerRun(100, func() {
		r.Lookup("127.0.0.1:8787", "/hello/anything")
		r.Lookup("api.example.com:8787", "/x")
		r.Lookup("127.0.0.1:8787", "/missing/x")
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %.1f times per run, want 0", allocs)
	}
}

func TestConcurrentLookupsDuringChanges(t *testing.T) {
	r := New[int](nil)
	r.Set(Route[int]{App: "stable"})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, ok := r.Lookup("x", "/stable/a"); !ok {
					t.Error("stable app vanished during changes")
					return
				}
			}
		})
	}
	for i := range 200 {
		r.Set(Route[int]{App: fmt.Sprintf("app%d", i)})
		if i%3 == 0 {
			r.Delete(fmt.Sprintf("app%d", i/2))
		}
	}
	close(stop)
	wg.Wait()
}

// BenchmarkLookup measures a lookup among many apps, some with hosts.
//
//	go test ./internal/router -run '^$' -bench Lookup -benchmem
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 1000} {
		r := New[int](nil)
		routes := make([]Route[int], n)
		for i := range routes {
			routes[i] = Route[int]{App: fmt.Sprintf("app-%d", i), Value: i}
			if i%10 == 0 {
				routes[i].Hosts = []string{fmt.Sprintf("app-%d.example.com", i)}
			}
		}
		r.Replace(routes)
		target := fmt.Sprintf("/app-%d/some/path", n/2+1)
		host := fmt.Sprintf("app-%d.example.com:8787", n/2/10*10)
		b.Run(fmt.Sprintf("apps=%d,kind=path", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := r.Lookup("127.0.0.1:8787", target); !ok {
					b.Fatal("not found")
				}
			}
		})
		b.Run(fmt.Sprintf("apps=%d,kind=host", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := r.Lookup(host, "/x"); !ok {
					b.Fatal("not found")
				}
			}
		})
		b.Run(fmt.Sprintf("apps=%d,kind=miss", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := r.Lookup("127.0.0.1:8787", "/nope/x"); ok {
					b.Fatal("found")
				}
			}
		})
		b.Run(fmt.Sprintf("apps=%d,kind=parallel", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r.Lookup("127.0.0.1:8787", target)
				}
			})
		})
	}
}
