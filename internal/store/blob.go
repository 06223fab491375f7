package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Blobs in kumo_bundles are content-addressed: a name is the lowercase hex
// SHA-256 (64 characters) of what it names. The store checks the form of a
// name, not that it matches the content, because the hashed thing (e.g. a
// version's canonical encoding) need not be the stored bytes; ObjectInfo
// carries the content's own SHA-256 for callers that want to compare.

// ObjectInfo describes a stored blob.
type ObjectInfo struct {
	Name    string
	Size    uint64
	SHA256  string // lowercase hex digest of the stored bytes
	ModTime time.Time
}

// ValidBlobName reports whether name is a lowercase hex SHA-256.
func ValidBlobName(name string) bool {
	if len(name) != 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func checkBlobName(name string) error {
	if !ValidBlobName(name) {
		return fmt.Errorf("%w %q: want 64 lowercase hex characters", ErrInvalidBlobName, name)
	}
	return nil
}

// PutBlob stores the contents of r under name, streaming them in chunks so
// a large bundle never sits in memory whole. If a blob of that name already
// exists it is kept and r is not read: equal names mean equal content, and
// rewriting would break readers of the existing blob for nothing.
func (s *Store) PutBlob(ctx context.Context, name string, r io.Reader) (ObjectInfo, error) {
	if err := checkBlobName(name); err != nil {
		return ObjectInfo{}, err
	}
	if info, err := s.bundles.GetInfo(ctx, name); err == nil {
		return objectInfo(info), nil
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return ObjectInfo{}, fmt.Errorf("putting blob %s: %w", name, err)
	}
	info, err := s.bundles.Put(ctx, jetstream.ObjectMeta{Name: name}, r)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("putting blob %s: %w", name, err)
	}
	return objectInfo(info), nil
}

// GetBlob returns the whole content of a blob, or ErrNotFound. A blob of
// one chunk (most bundles) is read with one direct get of that chunk, about
// ten times faster than the object store's reader, which sets up a
// consumer; a version's cold start waits on this read.
func (s *Store) GetBlob(ctx context.Context, name string) ([]byte, error) {
	if err := checkBlobName(name); err != nil {
		return nil, err
	}
	info, err := s.bundles.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("reading blob %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", name, err)
	}
	if info.Chunks == 1 {
		msg, err := s.bundlesStream.GetLastMsgForSubject(ctx, "$O."+BundlesBucket+".C."+info.NUID)
		if err != nil {
			return nil, fmt.Errorf("reading blob %s: %w", name, err)
		}
		want, err := jetstream.DecodeObjectDigest(info.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading blob %s: %w", name, err)
		}
		got := sha256.Sum256(msg.Data)
		if uint64(len(msg.Data)) != info.Size || !bytes.Equal(got[:], want) {
			return nil, fmt.Errorf("reading blob %s: content does not match its digest", name)
		}
		return msg.Data, nil
	}
	rc, err := s.OpenBlob(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", name, err)
	}
	return data, nil
}

// OpenBlob streams a blob, or returns ErrNotFound. The reader checks the
// content's digest at the end and fails the last Read on a mismatch. The
// caller closes it; ctx bounds the whole read.
func (s *Store) OpenBlob(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := checkBlobName(name); err != nil {
		return nil, err
	}
	res, err := s.bundles.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("opening blob %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", name, err)
	}
	return res, nil
}

// DeleteBlob removes a blob. Deleting a missing blob is not an error.
func (s *Store) DeleteBlob(ctx context.Context, name string) error {
	if err := checkBlobName(name); err != nil {
		return err
	}
	err := s.bundles.Delete(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("deleting blob %s: %w", name, err)
	}
	return nil
}

// BlobExists reports whether a blob is stored under name.
func (s *Store) BlobExists(ctx context.Context, name string) (bool, error) {
	if err := checkBlobName(name); err != nil {
		return false, err
	}
	_, err := s.bundles.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking blob %s: %w", name, err)
	}
	return true, nil
}

func objectInfo(info *jetstream.ObjectInfo) ObjectInfo {
	oi := ObjectInfo{Name: info.Name, Size: info.Size, ModTime: info.ModTime}
	if sum, err := jetstream.DecodeObjectDigest(info.Digest); err == nil {
		oi.SHA256 = hex.EncodeToString(sum)
	}
	return oi
}
