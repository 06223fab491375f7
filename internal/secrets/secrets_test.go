package secrets_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/secrets"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

func TestEnsureKey(t *testing.T) {
	st := testutil.Store(t)
	dir := t.TempDir()
	path := filepath.Join(dir, secrets.KeyFile)

	k1, created, err := secrets.EnsureKey(t.Context(), st, path)
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := secrets.EnsureKey(t.Context(), st, path)
	if err != nil || created || k2.ID() != k1.ID() {
		t.Fatalf("second start: created=%v err=%v ids %s %s", created, err, k1.ID(), k2.ID())
	}

	// A node of the same store without the key file refuses to start.
	other := filepath.Join(t.TempDir(), secrets.KeyFile)
	_, _, err = secrets.EnsureKey(t.Context(), st, other)
	if !errors.Is(err, secrets.ErrNoKey) || !strings.Contains(err.Error(), "copy secrets.key") || !strings.Contains(err.Error(), k1.ID()) {
		t.Fatalf("missing key file: %v", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a key file was created for a store that has one: %v", err)
	}
	// ... and so does one with another key.
	otherStore := testutil.Store(t)
	if _, _, err := secrets.EnsureKey(t.Context(), otherStore, other); err != nil {
		t.Fatal(err)
	}
	_, _, err = secrets.EnsureKey(t.Context(), st, other)
	if err == nil || !strings.Contains(err.Error(), "is not the store's") {
		t.Fatalf("another key: %v", err)
	}
	// A copied key works.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), secrets.KeyFile)
	if err := os.WriteFile(copied, data, 0o644); err != nil {
		t.Fatal(err)
	}
	k3, _, err := secrets.EnsureKey(t.Context(), st, copied)
	if err != nil || k3.ID() != k1.ID() {
		t.Fatalf("copied key: %v", err)
	}
	if fi, _ := os.Stat(copied); fi.Mode().Perm() != 0o600 {
		t.Errorf("copied key file mode not tightened: %v", fi.Mode().Perm())
	}
}

func newStore(t *testing.T) (*secrets.Store, *store.Store, string) {
	t.Helper()
	dataDir := t.TempDir()
	st := testutil.OpenStore(t, store.Config{DataDir: dataDir})
	key, _, err := secrets.EnsureKey(t.Context(), st, filepath.Join(t.TempDir(), secrets.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return secrets.NewStore(st, key), st, dataDir
}

func TestPutListDelete(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	created, _, err := s.Put(ctx, "shop", "STRIPE_KEY", "sk_live_1")
	if err != nil || !created {
		t.Fatalf("put: %v %v", created, err)
	}
	if created, _, err = s.Put(ctx, "shop", "STRIPE_KEY", "sk_live_2"); err != nil || created {
		t.Fatalf("update: %v %v", created, err)
	}
	if _, _, err := s.Put(ctx, "shop", "A_TOKEN", "a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, "other", "STRIPE_KEY", "x"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "A_TOKEN" || list[1].Name != "STRIPE_KEY" || list[1].Updated.IsZero() {
		t.Fatalf("list: %+v", list)
	}
	vals, err := s.Secrets(ctx, "shop", []string{"STRIPE_KEY", "A_TOKEN"})
	if err != nil || vals["STRIPE_KEY"] != "sk_live_2" || vals["A_TOKEN"] != "a" {
		t.Fatalf("values: %v %v", vals, err)
	}
	missing, err := s.Missing(ctx, "shop", []string{"A_TOKEN", "NOPE"})
	if err != nil || len(missing) != 1 || missing[0] != "NOPE" {
		t.Fatalf("missing: %v %v", missing, err)
	}
	_, err = s.Secrets(ctx, "shop", []string{"NOPE"})
	if err == nil || !strings.Contains(err.Error(), "run kumo secret put shop NOPE") {
		t.Fatalf("missing secret: %v", err)
	}
	if err := s.Delete(ctx, "shop", "A_TOKEN"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "shop", "A_TOKEN"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.DeleteApp(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(ctx, "shop"); len(list) != 0 {
		t.Fatalf("after DeleteApp: %v", list)
	}
	if list, _ := s.List(ctx, "other"); len(list) != 1 {
		t.Fatalf("other app's secrets: %v", list)
	}
}

func TestPutRefuses(t *testing.T) {
	s, _, _ := newStore(t)
	const value = "hunter2-do-not-print"
	for _, tc := range []struct{ app, name, value, want string }{
		{"Shop", "A", value, "app name"},
		{"shop", "A-B", value, "must match"},
		{"shop", "A$", value, "must match"},
		{"shop", "A", "", "empty"},
		{"shop", "A", strings.Repeat("x", secrets.MaxValueBytes+1), "over the limit"},
		{"shop", "A", value + "\xff", "UTF-8"},
	} {
		_, _, err := s.Put(t.Context(), tc.app, tc.name, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s/%s: %v, want %q", tc.app, tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), value) {
			t.Errorf("error quotes the value: %v", err)
		}
	}
}

// TestValueNotOnDisk pins that secrets are encrypted at rest:
// no file of the store's data directory contains a value.
func TestValueNotOnDisk(t *testing.T) {
	s, st, dataDir := newStore(t)
	const value = "sup3r-s3cret-value-4242"
	if _, _, err := s.Put(t.Context(), "shop", "TOKEN", value); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(t.Context(), secrets.StoreKey("shop", "TOKEN")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil { // flush to disk
		t.Fatal(err)
	}
	checked := 0
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if bytes.Contains(data, []byte(value)) {
			t.Errorf("%s holds the secret in clear", path)
		}
		if bytes.Contains(data, []byte("secrets.shop.TOKEN")) {
			checked += 1000 // the record itself is on disk
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 1000 {
		t.Fatalf("the secret's record was not found on disk (%d files): the test proves nothing", checked)
	}
}

func TestWrongKeyCannotDecrypt(t *testing.T) {
	s, st, _ := newStore(t)
	if _, _, err := s.Put(t.Context(), "shop", "TOKEN", "v"); err != nil {
		t.Fatal(err)
	}
	raw := bytes.Repeat([]byte{7}, secrets.KeySize)
	other, err := secrets.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, err = secrets.NewStore(st, other).Secrets(t.Context(), "shop", []string{"TOKEN"})
	if err == nil || !strings.Contains(err.Error(), "same secrets.key") {
		t.Fatalf("err = %v", err)
	}
}
