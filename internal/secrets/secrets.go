// Package secrets keeps apps' secret values in the store, encrypted at
// rest with AES-256-GCM under a key file in the data directory, and
// decrypts them for the versions that declare them.
//
// A value is stored as kumo_meta "secrets.<app>.<NAME>" (see
// docs/store-schema.md), sealed with the record's key as additional data
// so a ciphertext moved to another key does not open. kumo_meta
// "secrets_key" records the id (never the key) of the key the store's
// secrets are written with, so a node started with another key file
// refuses to start instead of failing on every secret.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/manifest"
	"github.com/kumo-dev/kumo/internal/store"
)

// KeyFile is the key's file name in the data directory.
const KeyFile = "secrets.key"

// KeySize is the key's length in bytes (AES-256).
const KeySize = 32

// MaxValueBytes bounds a secret's value.
const MaxValueBytes = 64 << 10

// keyIDKey is the kumo_meta key recording the id of the store's key.
const keyIDKey = "secrets_key"

// ErrNotFound: the app has no secret of that name.
var ErrNotFound = errors.New("secret not found")

// ErrNoKey: the data directory has no key file but the store's secrets
// use a key: this node must get a copy of it. A node may run without it;
// it cannot read or write secrets until then.
var ErrNoKey = errors.New("no secrets key")

// Key is an AES-256-GCM key. Safe for concurrent use.
type Key struct {
	aead cipher.AEAD
	id   string
}

// NewKey makes a Key of KeySize random bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secrets key: %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets key: %w", err)
	}
	h := sha256.New()
	h.Write([]byte("kumo secrets key id\x00"))
	h.Write(raw)
	return &Key{aead: aead, id: hex.EncodeToString(h.Sum(nil))[:16]}, nil
}

// ID identifies the key without revealing it.
func (k *Key) ID() string { return k.id }

// LoadKey reads a key file: the key in standard base64 on one line.
func LoadKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading secrets key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("reading secrets key %s: not base64", path)
	}
	return NewKey(raw)
}

// keyRecord is the value of kumo_meta "secrets_key".
type keyRecord struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// EnsureKey returns the key in path, creating it (mode 0600) when neither
// the file nor the store knows one, and checks it against the id the store
// records, recording it on first use. A missing file for a store that has
// a key, or a key that is not the store's, is an error naming both ids.
func EnsureKey(ctx context.Context, st *store.Store, path string) (key *Key, created bool, err error) {
	var rec keyRecord
	data, _, gerr := st.Get(ctx, keyIDKey)
	switch {
	case gerr == nil:
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, false, fmt.Errorf("reading the store's secrets key id: %w", err)
		}
	case !errors.Is(gerr, store.ErrNotFound):
		return nil, false, fmt.Errorf("reading the store's secrets key id: %w", gerr)
	}

	key, err = LoadKey(path)
	switch {
	case err == nil:
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, false, fmt.Errorf("securing secrets key file %s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist) && rec.ID == "":
		var raw [KeySize]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, false, fmt.Errorf("generating secrets key: %w", err)
		}
		if key, err = NewKey(raw[:]); err != nil {
			return nil, false, err
		}
		if err := writeKeyFile(path, []byte(base64.StdEncoding.EncodeToString(raw[:])+"\n")); err != nil {
			return nil, false, fmt.Errorf("writing secrets key: %w", err)
		}
		created = true
	case errors.Is(err, os.ErrNotExist):
		return nil, false, fmt.Errorf("%w at %s, but the store's secrets are encrypted with key %s: copy secrets.key from a node of this cluster (or from your backup) to %s", ErrNoKey, path, rec.ID, path)
	default:
		return nil, false, err
	}

	if rec.ID == "" {
		val, _ := json.Marshal(keyRecord{ID: key.ID(), Created: time.Now().UTC()})
		if _, err := st.Create(ctx, keyIDKey, val); errors.Is(err, store.ErrExists) {
			// Another node recorded its key first: check against it.
			return checkRecorded(ctx, st, key, path, created)
		} else if err != nil {
			return nil, false, fmt.Errorf("recording the secrets key id: %w", err)
		}
		return key, created, nil
	}
	if rec.ID != key.ID() {
		return nil, false, mismatch(path, key.ID(), rec.ID)
	}
	return key, created, nil
}

func checkRecorded(ctx context.Context, st *store.Store, key *Key, path string, created bool) (*Key, bool, error) {
	data, _, err := st.Get(ctx, keyIDKey)
	if err != nil {
		return nil, false, fmt.Errorf("reading the store's secrets key id: %w", err)
	}
	var rec keyRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, false, fmt.Errorf("reading the store's secrets key id: %w", err)
	}
	if rec.ID != key.ID() {
		if created {
			_ = os.Remove(path) // ours lost the race; do not leave a wrong key behind
		}
		return nil, false, mismatch(path, key.ID(), rec.ID)
	}
	return key, created, nil
}

func mismatch(path, have, want string) error {
	return fmt.Errorf("the secrets key in %s (id %s) is not the store's (id %s): every node of a cluster needs the same secrets.key; copy it from a node of the cluster", path, have, want)
}

// writeKeyFile writes data to path with mode 0600 atomically, never
// replacing an existing file.
func writeKeyFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".secrets-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Link, not rename: a key another process wrote meanwhile wins.
	return os.Link(f.Name(), path)
}

// Unavailable is the secret source of a node without the key: every
// read fails with the reason.
type Unavailable struct{ Reason error }

// Secrets fails with u.Reason.
func (u Unavailable) Secrets(context.Context, string, []string) (map[string]string, error) {
	return nil, fmt.Errorf("this node cannot read secrets: %w", u.Reason)
}

// Keys of kumo_meta.

// StoreKey is the kumo_meta key of a secret.
func StoreKey(appName, name string) string { return "secrets." + appName + "." + name }

// Prefix is the prefix of every secret key of appName.
func Prefix(appName string) string { return "secrets." + appName }

// WatchPattern matches every secret key of every app.
const WatchPattern = "secrets.*.*"

// AppOfKey returns the app of a secret key.
func AppOfKey(key string) (string, bool) {
	parts := strings.Split(key, ".")
	if len(parts) != 3 || parts[0] != "secrets" {
		return "", false
	}
	return parts[1], true
}

// record is the value of secrets.<app>.<NAME>.
type record struct {
	KeyID      string    `json:"key_id"`
	Nonce      []byte    `json:"nonce"`
	Ciphertext []byte    `json:"ciphertext"`
	Updated    time.Time `json:"updated"`
}

// Info describes a secret without its value.
type Info struct {
	Name    string
	Updated time.Time
}

// Store reads and writes apps' secrets. Safe for concurrent use.
type Store struct {
	st  *store.Store
	key *Key
}

// NewStore returns a Store over st encrypting with key.
func NewStore(st *store.Store, key *Key) *Store {
	return &Store{st: st, key: key}
}

// CheckName reports, as an error, whether appName and name can name a
// secret.
func CheckName(appName, name string) error {
	if err := app.ValidName(appName); err != nil {
		return err
	}
	if err := manifest.ValidSecretName(name); err != nil {
		return fmt.Errorf("secret %w", err)
	}
	return nil
}

// CheckValue reports, as an error that never quotes it, whether value can
// be a secret's value.
func CheckValue(value string) error {
	switch {
	case value == "":
		return errors.New("the secret's value is empty")
	case len(value) > MaxValueBytes:
		return fmt.Errorf("the secret's value is %d bytes, over the limit of %d", len(value), MaxValueBytes)
	case !utf8.ValidString(value):
		return errors.New("the secret's value is not valid UTF-8 text")
	}
	return nil
}

// Put stores a secret's value, encrypted. It reports whether the secret
// is new.
func (s *Store) Put(ctx context.Context, appName, name, value string) (created bool, updated time.Time, err error) {
	if err := CheckName(appName, name); err != nil {
		return false, time.Time{}, err
	}
	if err := CheckValue(value); err != nil {
		return false, time.Time{}, err
	}
	key := StoreKey(appName, name)
	nonce := make([]byte, s.key.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return false, time.Time{}, fmt.Errorf("sealing secret %s: %w", name, err)
	}
	rec := record{
		KeyID:      s.key.id,
		Nonce:      nonce,
		Ciphertext: s.key.aead.Seal(nil, nonce, []byte(value), []byte(key)),
		Updated:    time.Now().UTC(),
	}
	data, _ := json.Marshal(rec)
	_, _, gerr := s.st.Get(ctx, key)
	created = errors.Is(gerr, store.ErrNotFound)
	if gerr != nil && !created {
		return false, time.Time{}, fmt.Errorf("storing secret %s of %s: %w", name, appName, gerr)
	}
	if _, err := s.st.Put(ctx, key, data); err != nil {
		return false, time.Time{}, fmt.Errorf("storing secret %s of %s: %w", name, appName, err)
	}
	return created, rec.Updated, nil
}

// Delete removes a secret; ErrNotFound when it does not exist.
func (s *Store) Delete(ctx context.Context, appName, name string) error {
	if err := CheckName(appName, name); err != nil {
		return err
	}
	key := StoreKey(appName, name)
	if _, _, err := s.st.Get(ctx, key); errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	} else if err != nil {
		return fmt.Errorf("deleting secret %s of %s: %w", name, appName, err)
	}
	if err := s.st.Delete(ctx, key); err != nil {
		return fmt.Errorf("deleting secret %s of %s: %w", name, appName, err)
	}
	return nil
}

// DeleteApp removes every secret of appName.
func (s *Store) DeleteApp(ctx context.Context, appName string) error {
	keys, err := s.st.Keys(ctx, Prefix(appName))
	if err != nil {
		return fmt.Errorf("listing secrets of %s: %w", appName, err)
	}
	for _, k := range keys {
		if err := s.st.Delete(ctx, k); err != nil {
			return fmt.Errorf("deleting secrets of %s: %w", appName, err)
		}
	}
	return nil
}

// List returns the names and update times of appName's secrets, sorted by
// name. It decrypts nothing.
func (s *Store) List(ctx context.Context, appName string) ([]Info, error) {
	if err := app.ValidName(appName); err != nil {
		return nil, err
	}
	keys, err := s.st.Keys(ctx, Prefix(appName))
	if err != nil {
		return nil, fmt.Errorf("listing secrets of %s: %w", appName, err)
	}
	out := make([]Info, 0, len(keys))
	for _, k := range keys {
		name := strings.TrimPrefix(k, Prefix(appName)+".")
		if strings.Contains(name, ".") {
			continue
		}
		data, _, err := s.st.Get(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("listing secrets of %s: %w", appName, err)
		}
		var rec record
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("reading secret %s of %s: %w", name, appName, err)
		}
		out = append(out, Info{Name: name, Updated: rec.Updated})
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Missing returns the names among names that appName has no secret for.
func (s *Store) Missing(ctx context.Context, appName string, names []string) ([]string, error) {
	var missing []string
	for _, n := range names {
		_, _, err := s.st.Get(ctx, StoreKey(appName, n))
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, n)
		} else if err != nil {
			return nil, fmt.Errorf("reading secret %s of %s: %w", n, appName, err)
		}
	}
	return missing, nil
}

// Secrets returns the decrypted values of appName's secrets names. A
// missing secret is an error naming it and the command that sets it;
// errors never contain a value.
func (s *Store) Secrets(ctx context.Context, appName string, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		key := StoreKey(appName, n)
		data, _, err := s.st.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("secret %s of app %s is not set: run kumo secret put %s %s", n, appName, appName, n)
		}
		if err != nil {
			return nil, fmt.Errorf("reading secret %s of %s: %w", n, appName, err)
		}
		var rec record
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("reading secret %s of %s: %w", n, appName, err)
		}
		if rec.KeyID != s.key.id {
			return nil, fmt.Errorf("secret %s of %s is encrypted with key %s, this node has key %s: every node needs the same secrets.key", n, appName, rec.KeyID, s.key.id)
		}
		plain, err := s.key.aead.Open(nil, rec.Nonce, rec.Ciphertext, []byte(key))
		if err != nil {
			return nil, fmt.Errorf("decrypting secret %s of %s: the stored value is damaged or not sealed for this key", n, appName)
		}
		out[n] = string(plain)
	}
	return out, nil
}
