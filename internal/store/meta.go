package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Metadata keys are hierarchical, most general part first, e.g.
// "apps.hello" or "versions.hello.<id>". A key is one or more tokens
// joined by dots; a token is one or more of the characters
// A-Z a-z 0-9 '-' '_' '='. At most MaxKeyLen bytes. The alphabet is the
// one NATS subjects share with KV keys, minus '/', so every key is a valid
// subject and watch patterns work on whole tokens. Values are limited by
// the server's max payload (1 MiB by default).
const MaxKeyLen = 1024

// ValidKey reports whether key follows the metadata key syntax.
func ValidKey(key string) bool {
	return checkTokens(key, false) == nil
}

func checkKey(key string) error {
	if err := checkTokens(key, false); err != nil {
		return fmt.Errorf("%w %q: %v", ErrInvalidKey, key, err)
	}
	return nil
}

// checkPattern accepts a key whose tokens may also be "*" (one token) or,
// as the last token, ">" (one or more tokens).
func checkPattern(pattern string) error {
	if err := checkTokens(pattern, true); err != nil {
		return fmt.Errorf("%w pattern %q: %v", ErrInvalidKey, pattern, err)
	}
	return nil
}

func checkTokens(key string, wildcards bool) error {
	if key == "" {
		return errors.New("empty")
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("longer than %d bytes", MaxKeyLen)
	}
	tokens := strings.Split(key, ".")
	for i, tok := range tokens {
		if tok == "" {
			return errors.New("empty token (leading, trailing or double dot)")
		}
		if wildcards && (tok == "*" || (tok == ">" && i == len(tokens)-1)) {
			continue
		}
		for _, r := range tok {
			if !keyChar(r) {
				return fmt.Errorf("character %q not allowed", r)
			}
		}
	}
	return nil
}

func keyChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '_' || r == '='
}

// Get returns the current value of key and its revision, or ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, err
	}
	e, err := s.meta.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("getting key %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("getting key %s: %w", key, err)
	}
	return e.Value(), e.Revision(), nil
}

// Put sets key to value unconditionally and returns the new revision.
func (s *Store) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	rev, err := s.meta.Put(ctx, key, value)
	if err != nil {
		return 0, fmt.Errorf("putting key %s: %w", key, err)
	}
	return rev, nil
}

// Create sets key to value only if the key does not exist (a deleted key
// counts as absent); otherwise it returns ErrExists.
func (s *Store) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	rev, err := s.meta.Create(ctx, key, value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("creating key %s: %w", key, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("creating key %s: %w", key, err)
	}
	return rev, nil
}

// Update sets key to value only if its current revision is lastRevision,
// and returns the new revision. On any other revision it returns
// ErrConflict and changes nothing: read again, recompute, retry.
// lastRevision 0 means "the key must not exist", so one read-modify-write
// loop covers creation too:
//
//	for {
//		old, rev, err := s.Get(ctx, key) // rev is 0 on ErrNotFound
//		...
//		_, err = s.Update(ctx, key, next(old), rev)
//		if !errors.Is(err, store.ErrConflict) {
//			return err
//		}
//	}
func (s *Store) Update(ctx context.Context, key string, value []byte, lastRevision uint64) (uint64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if lastRevision == 0 {
		// Create, unlike an update expecting revision 0, also succeeds
		// over a delete marker.
		rev, err := s.meta.Create(ctx, key, value)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, fmt.Errorf("updating key %s from no revision: %w", key, ErrConflict)
		}
		if err != nil {
			return 0, fmt.Errorf("updating key %s from no revision: %w", key, err)
		}
		return rev, nil
	}
	rev, err := s.meta.Update(ctx, key, value, lastRevision)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("updating key %s from revision %d: %w", key, lastRevision, ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("updating key %s from revision %d: %w", key, lastRevision, err)
	}
	return rev, nil
}

// Delete removes key. Deleting a missing key is not an error: the caller
// wanted it gone and it is.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.meta.Delete(ctx, key); err != nil {
		return fmt.Errorf("deleting key %s: %w", key, err)
	}
	return nil
}

// Keys returns, sorted, the existing keys below prefix: Keys(ctx, "apps")
// and Keys(ctx, "apps.") both list "apps.hello" and "apps.hello.x" but not
// "apps" itself. An empty prefix lists every key.
func (s *Store) Keys(ctx context.Context, prefix string) ([]string, error) {
	filter := jetstream.AllKeys
	if prefix != "" {
		p := strings.TrimSuffix(prefix, ".")
		if err := checkKey(p); err != nil {
			return nil, err
		}
		filter = p + ".>"
	}
	w, err := s.meta.Watch(ctx, filter, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, fmt.Errorf("listing keys under %q: %w", prefix, err)
	}
	defer stopWatcher(w)
	var keys []string
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("listing keys under %q: %w", prefix, ErrClosed)
			}
			if e == nil { // end of the current values
				slices.Sort(keys)
				return slices.Compact(keys), nil
			}
			keys = append(keys, e.Key())
		case <-ctx.Done():
			return nil, fmt.Errorf("listing keys under %q: %w", prefix, ctx.Err())
		}
	}
}

// Change is one event of a Watch.
type Change struct {
	Key      string
	Value    []byte // nil when Deleted
	Revision uint64
	Deleted  bool
	// Synced marks the end of the initial values. It carries no key and is
	// sent exactly once, even when no key matched, before any live change.
	Synced bool
}

// Watch streams the keys matching pattern: first the current value of
// each (keys deleted earlier are left out), then one Change with Synced
// set, then every later put and delete in order. A pattern is a key whose tokens may be "*" (any one token) or,
// last, ">" (one or more tokens): "apps.*", "versions.hello.>", ">".
//
// The marker travels in the same channel as the values, not as a separate
// signal, so a consumer that builds a snapshot (the router's route table)
// knows exactly which changes the snapshot contains.
//
// The channel is closed when ctx is done or the store closes. A consumer
// must keep reading: the watch applies back-pressure rather than dropping
// changes.
func (s *Store) Watch(ctx context.Context, pattern string) (<-chan Change, error) {
	if err := checkPattern(pattern); err != nil {
		return nil, err
	}
	if err := s.startWorker(); err != nil {
		return nil, fmt.Errorf("watching %s: %w", pattern, err)
	}
	w, err := s.meta.Watch(ctx, pattern)
	if err != nil {
		s.workers.Done()
		return nil, fmt.Errorf("watching %s: %w", pattern, err)
	}
	out := make(chan Change, 64)
	go func() {
		defer s.workers.Done()
		defer close(out)
		defer stopWatcher(w)
		synced := false
		for {
			var e jetstream.KeyValueEntry
			var ok bool
			select {
			case e, ok = <-w.Updates():
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			case <-s.life.Done():
				return
			}
			c := Change{Synced: true}
			if e != nil {
				c = Change{Key: e.Key(), Revision: e.Revision(), Deleted: e.Operation() != jetstream.KeyValuePut}
				if !c.Deleted {
					c.Value = e.Value()
				}
			}
			if c.Synced {
				synced = true
			} else if c.Deleted && !synced {
				// The initial values are the current ones; a key deleted
				// before the watch began is not one of them.
				continue
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			case <-s.life.Done():
				return
			}
		}
	}()
	return out, nil
}

// stopWatcher stops w and drains its channel. The watcher's delivery
// callback blocks on a full channel; draining lets it return so the
// subscription can finish closing instead of leaking its goroutine.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop() // fails only when already stopped, e.g. by its context
	for range w.Updates() {
	}
}
