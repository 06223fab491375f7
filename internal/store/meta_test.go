package store_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

func TestCreateConflict(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	if _, err := s.Create(ctx, "apps.hello", []byte("first")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := s.Create(ctx, "apps.hello", []byte("second")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Create: err = %v, want ErrExists", err)
	}
	if v, _ := mustGet(t, s, "apps.hello"); v != "first" {
		t.Errorf("value = %q, want first", v)
	}
	// A deleted key is absent again.
	if err := s.Delete(ctx, "apps.hello"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := s.Get(ctx, "apps.hello"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Create(ctx, "apps.hello", []byte("third")); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	if err := s.Delete(ctx, "never.existed"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}

func TestUpdateStaleRevision(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	rev1 := mustPut(t, s, "apps.hello", "v1")
	rev2, err := s.Update(ctx, "apps.hello", []byte("v2"), rev1)
	if err != nil {
		t.Fatalf("Update at current revision: %v", err)
	}
	if rev2 <= rev1 {
		t.Errorf("new revision %d not after %d", rev2, rev1)
	}
	if _, err := s.Update(ctx, "apps.hello", []byte("v3"), rev1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update at stale revision: err = %v, want ErrConflict", err)
	}
	if v, rev := mustGet(t, s, "apps.hello"); v != "v2" || rev != rev2 {
		t.Errorf("after conflict = %q@%d, want v2@%d", v, rev, rev2)
	}
	// Revision 0 means "must not exist".
	if _, err := s.Update(ctx, "apps.hello", []byte("v4"), 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update from revision 0 of an existing key: err = %v, want ErrConflict", err)
	}
	if _, err := s.Update(ctx, "apps.new", []byte("n"), 0); err != nil {
		t.Fatalf("Update from revision 0 of a missing key: %v", err)
	}
	if _, err := s.Update(ctx, "apps.missing", []byte("n"), 7); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update of a missing key at revision 7: err = %v, want ErrConflict", err)
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	const workers, perWorker = 10, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				for {
					old, rev, err := s.Get(ctx, "counter")
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						errs <- err
						return
					}
					n := 0
					if len(old) > 0 {
						if n, err = strconv.Atoi(string(old)); err != nil {
							errs <- err
							return
						}
					}
					_, err = s.Update(ctx, "counter", []byte(strconv.Itoa(n+1)), rev)
					if err == nil {
						break
					}
					if !errors.Is(err, store.ErrConflict) {
						errs <- err
						return
					}
					mu.Lock()
					conflicts++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("worker: %v", err)
	}
	if v, _ := mustGet(t, s, "counter"); v != strconv.Itoa(workers*perWorker) {
		t.Errorf("counter = %s, want %d", v, workers*perWorker)
	}
	t.Logf("%d conflicts retried", conflicts)
}

func TestKeys(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	for _, k := range []string{"apps.b", "apps.a", "apps.b.x", "versions.a.1", "apps", "apps.gone"} {
		mustPut(t, s, k, "v")
	}
	if err := s.Delete(ctx, "apps.gone"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"apps", []string{"apps.a", "apps.b", "apps.b.x"}},
		{"apps.", []string{"apps.a", "apps.b", "apps.b.x"}},
		{"", []string{"apps", "apps.a", "apps.b", "apps.b.x", "versions.a.1"}},
		{"nothing", nil},
	} {
		got, err := s.Keys(ctx, tc.prefix)
		if err != nil {
			t.Fatalf("Keys(%q): %v", tc.prefix, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Keys(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func TestWatch(t *testing.T) {
	s := testutil.Store(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mustPut(t, s, "apps.a", "1")
	mustPut(t, s, "apps.b", "2")
	mustPut(t, s, "other.a", "x")
	mustPut(t, s, "apps.gone", "x")
	if err := s.Delete(ctx, "apps.gone"); err != nil {
		t.Fatal(err)
	}

	ch, err := s.Watch(ctx, "apps.*")
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	next := func() store.Change { t.Helper(); return testutil.Receive(t, ch, wait, "watch change") }

	// Initial values, then the marker.
	initial := map[string]string{}
	for {
		c := next()
		if c.Synced {
			if c.Key != "" {
				t.Errorf("marker carries key %q", c.Key)
			}
			break
		}
		initial[c.Key] = string(c.Value)
	}
	if len(initial) != 2 || initial["apps.a"] != "1" || initial["apps.b"] != "2" {
		t.Fatalf("initial values = %v", initial)
	}

	// Live updates and deletes, in order; other keys are not delivered.
	mustPut(t, s, "other.b", "y")
	rev := mustPut(t, s, "apps.c", "3")
	if c := next(); c.Key != "apps.c" || string(c.Value) != "3" || c.Revision != rev || c.Deleted || c.Synced {
		t.Errorf("live put = %+v", c)
	}
	if err := s.Delete(ctx, "apps.a"); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Key != "apps.a" || !c.Deleted || c.Value != nil {
		t.Errorf("live delete = %+v", c)
	}

	cancel()
	testutil.Eventually(t, wait, func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	}, "watch channel to close after cancel")
}

func TestWatchEmptyGetsMarkerFirst(t *testing.T) {
	s := testutil.Store(t)
	ch, err := s.Watch(t.Context(), "apps.>")
	if err != nil {
		t.Fatal(err)
	}
	if c := testutil.Receive(t, ch, wait); !c.Synced {
		t.Fatalf("first change = %+v, want the marker", c)
	}
	mustPut(t, s, "apps.x.y", "1")
	if c := testutil.Receive(t, ch, wait); c.Key != "apps.x.y" {
		t.Fatalf("change = %+v, want apps.x.y", c)
	}
}

func TestWatchClosesWithStore(t *testing.T) {
	s, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(t.Context(), ">")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Receive(t, ch, wait) // marker
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("watch channel still open after Close")
	}
}

func TestInvalidKeysRefused(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	bad := []string{"", ".a", "a.", "a..b", "a b", "a/b", "a*", ">", "a.>", "é", strings.Repeat("a", store.MaxKeyLen+1)}
	for _, k := range bad {
		if store.ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
		if _, err := s.Put(ctx, k, nil); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Put(%q): err = %v, want ErrInvalidKey", k, err)
		}
		if _, _, err := s.Get(ctx, k); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Get(%q): err = %v, want ErrInvalidKey", k, err)
		}
	}
	for _, k := range []string{"a", "apps.hello", "versions.hello.0af3", "tokens.AbC_-=", strings.Repeat("a", store.MaxKeyLen)} {
		if !store.ValidKey(k) {
			t.Errorf("ValidKey(%q) = false", k)
		}
	}
	for _, p := range []string{"", "a.>.b", "a*", "a.*b", "a..*", "a b.>"} {
		if _, err := s.Watch(ctx, p); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Watch(%q): err = %v, want ErrInvalidKey", p, err)
		}
	}
	if _, err := s.Keys(ctx, "a b"); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("Keys(\"a b\"): err = %v, want ErrInvalidKey", err)
	}
}
