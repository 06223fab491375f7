package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// randomReader yields n deterministic pseudo-random bytes without holding
// them in memory, so the upload path is exercised as a stream.
func randomReader(n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{1}), n)
}

func TestBlobRoundTrip20MiB(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	const size = 20 << 20
	h := sha256.New()
	if _, err := io.Copy(h, randomReader(size)); err != nil {
		t.Fatal(err)
	}
	name := hex.EncodeToString(h.Sum(nil))

	info, err := s.PutBlob(ctx, name, randomReader(size))
	if err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if info.Name != name || info.Size != size || info.SHA256 != name {
		t.Errorf("info = %+v, want name and SHA256 %s, size %d", info, name, size)
	}

	rc, err := s.OpenBlob(ctx, name)
	if err != nil {
		t.Fatalf("OpenBlob: %v", err)
	}
	h.Reset()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != name {
		t.Fatalf("streamed read: %d bytes, err %v, hash match %v", n, err, hex.EncodeToString(h.Sum(nil)) == name)
	}

	whole, err := s.GetBlob(ctx, name)
	if err != nil || sha256Hex(whole) != name {
		t.Fatalf("GetBlob: %d bytes, err %v", len(whole), err)
	}

	// Same name again: kept, and the reader is not touched.
	if _, err := s.PutBlob(ctx, name, failingReader{t}); err != nil {
		t.Fatalf("PutBlob of an existing name: %v", err)
	}

	if ok, err := s.BlobExists(ctx, name); err != nil || !ok {
		t.Fatalf("BlobExists = %v, %v; want true", ok, err)
	}
	if err := s.DeleteBlob(ctx, name); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	if ok, err := s.BlobExists(ctx, name); err != nil || ok {
		t.Fatalf("BlobExists after delete = %v, %v; want false", ok, err)
	}
	if _, err := s.GetBlob(ctx, name); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetBlob after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteBlob(ctx, name); err != nil {
		t.Fatalf("DeleteBlob of a missing blob: %v", err)
	}
}

func TestEmptyBlob(t *testing.T) {
	s := testutil.Store(t)
	name := sha256Hex(nil)
	info, err := s.PutBlob(t.Context(), name, bytes.NewReader(nil))
	if err != nil || info.Size != 0 || info.SHA256 != name {
		t.Fatalf("PutBlob(empty) = %+v, %v", info, err)
	}
	got, err := s.GetBlob(t.Context(), name)
	if err != nil || len(got) != 0 {
		t.Fatalf("GetBlob(empty) = %q, %v", got, err)
	}
}

type failingReader struct{ t *testing.T }

func (r failingReader) Read([]byte) (int, error) {
	r.t.Error("PutBlob read the content of a blob that already exists")
	return 0, io.EOF
}

func TestInvalidBlobNamesRefused(t *testing.T) {
	s := testutil.Store(t)
	ctx := t.Context()
	good := sha256Hex([]byte("x"))
	for _, name := range []string{"", "abc", strings.ToUpper(good), good[:63] + "g", good + "0", "../" + good[3:]} {
		if store.ValidBlobName(name) {
			t.Errorf("ValidBlobName(%q) = true", name)
		}
		if _, err := s.PutBlob(ctx, name, strings.NewReader("x")); !errors.Is(err, store.ErrInvalidBlobName) {
			t.Errorf("PutBlob(%q): err = %v, want ErrInvalidBlobName", name, err)
		}
		if _, err := s.GetBlob(ctx, name); !errors.Is(err, store.ErrInvalidBlobName) {
			t.Errorf("GetBlob(%q): err = %v", name, err)
		}
		if _, err := s.OpenBlob(ctx, name); !errors.Is(err, store.ErrInvalidBlobName) {
			t.Errorf("OpenBlob(%q): err = %v", name, err)
		}
		if err := s.DeleteBlob(ctx, name); !errors.Is(err, store.ErrInvalidBlobName) {
			t.Errorf("DeleteBlob(%q): err = %v", name, err)
		}
		if _, err := s.BlobExists(ctx, name); !errors.Is(err, store.ErrInvalidBlobName) {
			t.Errorf("BlobExists(%q): err = %v", name, err)
		}
	}
}
