package bindings

// KV namespaces on JetStream.
//
// A namespace is the stream of the JetStream KV bucket kv_<app>_<namespace>
// (stream KV_kv_<app>_<namespace>, subjects $KV.<bucket>.>), created on
// first use with the store's replica count. Kumo writes it through the
// stream rather than the KV client because it needs three things the KV
// client does not give: arbitrary keys, per-key expiry and values bigger
// than a NATS message.
//
// Keys. A key is any UTF-8 string of 1 to 512 bytes but "." and "..". Its
// subject has one token per byte of the key: bytes [A-Za-z0-9-_=/] stand
// for themselves (one-character tokens), every other byte is two lowercase
// hex digits. "user:1/ü" is $KV.<bucket>.u.s.e.r.3a.1./.c3.bc. Tokens of
// one and two characters cannot be confused, so the encoding is reversible,
// and a byte prefix of a key is a token prefix of its subject: listing by
// prefix is a subject filter the server answers from its subject index
// (<prefix tokens> and <prefix tokens>.>). Key order is restored by sorting
// the decoded keys (byte order, as Workers KV).
//
// Values. A value of at most 64 KiB is one message on the key's subject,
// published with Nats-Rollup: sub, which atomically drops every older
// message of the key. A bigger value (up to 25 MiB, whatever the server's
// max_payload) is split into chunks of at most 1 MiB published on the key's
// subject, then a record message listing their sequences; each publish
// expects the previous one to be the subject's last message
// (Nats-Expected-Last-Subject-Sequence), so two writers never interleave
// (the loser starts again), and once the record is stored everything older
// on the subject is purged. Chunks carry the sequence of the record they
// replace (Kumo-Prev): a reader that finds chunks on top of the subject
// reads that record, so readers see the old value until the new one is
// complete, and a write that died half way is invisible and removed by the
// key's next write or delete. Keeping small values inline keeps list (which
// reads each listed record) cheap.
//
// Metadata (JSON, at most 1 KiB) and the expiry (unix seconds) are headers
// of the record. Expiry is JetStream's per-message TTL (Nats-TTL; the
// stream has AllowMsgTTL, nats-server 2.11 or newer), so the server deletes
// expired keys itself, on every replica, with no sweeper; reads and lists
// also check the expiry header, so a key is gone at its expiry to the
// second even before the server's timer ran. TTLs are whole seconds, at
// least 1 (Workers requires 60; Kumo accepts shorter ones, useful in tests
// and development). Chunks of an expiring value live a minute longer than
// their record so a read that got the record can still read them.
//
// Reads are direct gets (AllowDirect): in a cluster any replica may answer,
// so a read right after a write on another node may see the old value, as
// in Workers KV.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/manifest"
	"github.com/kumo-dev/kumo/internal/store"
)

const (
	// kvInlineMax is the largest value stored in its record message.
	kvInlineMax = 64 << 10
	// kvChunkMax caps a chunk; smaller when the server's max_payload is.
	kvChunkMax = 1 << 20
	// kvHeaderRoom is what a message's headers may take of max_payload.
	kvHeaderRoom = 4 << 10
	// kvMaxMsgsPerKey bounds the messages one key's subject keeps: a record
	// plus the chunks of a write in progress (26 at 1 MiB, 52 at 512 KiB),
	// with room for a concurrent writer.
	kvMaxMsgsPerKey = 256
	// kvPutAttempts bounds the restarts of a chunked put that lost a race
	// with another writer of the same key.
	kvPutAttempts = 16
	// kvReadAttempts bounds the restarts of a read that found the value
	// replaced under it.
	kvReadAttempts = 16
	// kvChunkTTLMargin is how much longer chunks live than their record.
	kvChunkTTLMargin = time.Minute
)

// Headers of KV messages.
const (
	hdrMeta   = "Kumo-Meta"   // record: metadata JSON
	hdrExp    = "Kumo-Exp"    // record: expiry, unix seconds
	hdrChunks = "Kumo-Chunks" // chunked record: sequences of the chunks, comma-separated
	hdrSize   = "Kumo-Size"   // chunked record: value length
	hdrChunk  = "Kumo-Chunk"  // chunk: index
	hdrPrev   = "Kumo-Prev"   // chunk: sequence of the record it replaces, 0 if none
)

// resourceNameRe is what namespace and bucket names must match once
// defaulted (the binding name lowercased).
var resourceNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidResourceName checks a KV namespace or bucket name.
func ValidResourceName(kind, name string) error {
	if !resourceNameRe.MatchString(name) {
		return fmt.Errorf("%s name %q: use 1 to 64 of a-z 0-9 _ - starting with a letter or digit", kind, name)
	}
	return nil
}

// KVBucketName is the JetStream KV bucket of namespace ns of app.
func KVBucketName(app, ns string) string { return "kv_" + app + "_" + ns }

// kvNamespace is a binding.KV over one JetStream stream. It is safe for
// concurrent use.
type kvNamespace struct {
	js       jetstream.JetStream
	bucket   string
	desc     string
	replicas int
	prefix   string // "$KV.<bucket>."

	mu     sync.Mutex
	stream jetstream.Stream // nil until the first use provisioned it
}

// OpenKV returns namespace ns of app (see the package comment for the
// layout). The bucket is created on first use, so opening is cheap and
// cannot fail on the store.
func OpenKV(st *store.Store, app, ns string) (binding.KV, error) {
	if err := ValidResourceName("KV namespace", ns); err != nil {
		return nil, err
	}
	bucket := KVBucketName(app, ns)
	return &kvNamespace{
		js:       st.JetStream(),
		bucket:   bucket,
		desc:     fmt.Sprintf("Kumo KV namespace %s of app %s", ns, app),
		replicas: st.Replicas(),
		prefix:   "$KV." + bucket + ".",
	}, nil
}

// ensure returns the namespace's stream, creating or updating it the first
// time. A failure is retried by the next call.
func (kv *kvNamespace) ensure(ctx context.Context) (jetstream.Stream, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.stream != nil {
		return kv.stream, nil
	}
	s, err := kv.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              "KV_" + kv.bucket,
		Description:       kv.desc,
		Subjects:          []string{kv.prefix + ">"},
		MaxMsgsPerSubject: kvMaxMsgsPerKey,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgSize:        -1,
		MaxConsumers:      -1,
		Storage:           jetstream.FileStorage,
		Replicas:          kv.replicas,
		Discard:           jetstream.DiscardNew,
		Duplicates:        2 * time.Minute,
		AllowRollup:       true,
		DenyDelete:        true,
		AllowDirect:       true,
		AllowMsgTTL:       true,
	})
	if err != nil {
		return nil, fmt.Errorf("provisioning KV bucket %s: %w", kv.bucket, err)
	}
	kv.stream = s
	return s, nil
}

// checkKey validates a key as Workers KV does, plus UTF-8.
func checkKey(key string) error {
	switch {
	case key == "":
		return binding.Invalid("key is empty")
	case len(key) > binding.KVMaxKeyBytes:
		return binding.Invalid("key of %d bytes is over the %d-byte limit", len(key), binding.KVMaxKeyBytes)
	case key == "." || key == "..":
		return binding.Invalid("key %q is not allowed", key)
	case !utf8.ValidString(key):
		return binding.Invalid("key is not valid UTF-8")
	}
	return nil
}

// keyLiteral reports whether byte c is its own subject token.
func keyLiteral(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '=' || c == '/'
}

const hexDigits = "0123456789abcdef"

// appendKeyTokens appends the subject tokens of key (non-empty).
func appendKeyTokens(b []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		if i > 0 {
			b = append(b, '.')
		}
		if c := key[i]; keyLiteral(c) {
			b = append(b, c)
		} else {
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return b
}

// subject is the subject of key.
func (kv *kvNamespace) subject(key string) string {
	b := make([]byte, 0, len(kv.prefix)+3*len(key))
	return string(appendKeyTokens(append(b, kv.prefix...), key))
}

// decodeKey turns the tokens after the prefix back into the key.
func decodeKey(tokens string) (string, bool) {
	b := make([]byte, 0, len(tokens)/2+1)
	for tokens != "" {
		tok, rest, _ := strings.Cut(tokens, ".")
		tokens = rest
		switch len(tok) {
		case 1:
			b = append(b, tok[0])
		case 2:
			hi, lo := strings.IndexByte(hexDigits, tok[0]), strings.IndexByte(hexDigits, tok[1])
			if hi < 0 || lo < 0 {
				return "", false
			}
			b = append(b, byte(hi<<4|lo))
		default:
			return "", false
		}
	}
	return string(b), len(b) > 0
}

// checkMetadata validates metadata JSON and returns it compacted (no line
// breaks, so it fits a header).
func checkMetadata(meta []byte) ([]byte, error) {
	if meta == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, meta); err != nil {
		return nil, binding.Invalid("metadata is not valid JSON")
	}
	out := buf.Bytes()
	if len(out) > binding.KVMaxMetadataBytes {
		return nil, binding.Invalid("metadata of %d bytes serialised is over the %d-byte limit", len(out), binding.KVMaxMetadataBytes)
	}
	return out, nil
}

// expiry turns the put options into the expiry (unix seconds) and the TTL
// to give the message; both zero for a value that does not expire.
func expiry(opts binding.KVPutOptions, now time.Time) (int64, time.Duration, error) {
	var secs int64
	switch {
	case opts.TTL < 0:
		return 0, 0, binding.Invalid("expirationTtl %v must not be negative", opts.TTL)
	case opts.TTL > 0:
		secs = int64((opts.TTL + time.Second - 1) / time.Second)
		if secs < binding.KVMinTTLSeconds {
			secs = binding.KVMinTTLSeconds
		}
	case !opts.Expiration.IsZero():
		exp := opts.Expiration.Unix()
		if opts.Expiration.Nanosecond() > 0 {
			exp++
		}
		// The message lives at least until exp: its TTL runs from when the
		// server stores it, which is after now.
		secs = exp - now.Unix()
		if secs < binding.KVMinTTLSeconds {
			return 0, 0, binding.Invalid("expiration %d is not in the future (now is %d)", opts.Expiration.Unix(), now.Unix())
		}
		return exp, time.Duration(secs) * time.Second, nil
	default:
		return 0, 0, nil
	}
	// The expiry is rounded up to a whole second, so that a key is never
	// gone before its TTL; the server's own timer (TTL from the moment it
	// stores the message) fires no earlier than that either.
	ttl := time.Duration(secs) * time.Second
	at := now.Add(ttl)
	exp := at.Unix()
	if at.Nanosecond() > 0 {
		exp++
	}
	return exp, ttl, nil
}

// record is a key's current value as read from the stream.
type record struct {
	msg    *jetstream.RawStreamMsg
	exp    int64
	chunks []uint64 // nil when the value is inline
	size   int64
}

// expired reports whether the record's expiry has passed.
func (r *record) expired(now time.Time) bool { return r.exp != 0 && now.Unix() >= r.exp }

// metadata returns the record's metadata JSON, nil when none.
func (r *record) metadata() []byte {
	if m := r.msg.Header.Get(hdrMeta); m != "" {
		return []byte(m)
	}
	return nil
}

// lastMsg returns the last message on subject, nil when there is none.
func lastMsg(ctx context.Context, s jetstream.Stream, subject string) (*jetstream.RawStreamMsg, error) {
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	return m, err
}

// msgAt returns message seq, nil when it is gone or not on subject.
func msgAt(ctx context.Context, s jetstream.Stream, seq uint64, subject string) (*jetstream.RawStreamMsg, error) {
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m.Subject != subject {
		return nil, nil
	}
	return m, nil
}

// current returns the record of the key on subject, nil when absent: the
// last message when it is a record, else the record the chunks on top
// (a write in progress or one that died) replace. stale is set when that
// older record vanished while being looked up, so the caller should read
// again.
func current(ctx context.Context, s jetstream.Stream, subject string) (rec *record, stale bool, err error) {
	m, err := lastMsg(ctx, s, subject)
	if err != nil || m == nil {
		return nil, false, err
	}
	if m.Header.Get(hdrChunk) != "" {
		prev, _ := strconv.ParseUint(m.Header.Get(hdrPrev), 10, 64)
		if prev == 0 {
			return nil, false, nil
		}
		last := m.Sequence
		if m, err = msgAt(ctx, s, prev, subject); err != nil {
			return nil, false, err
		}
		if m == nil {
			// Gone: the write finished (and purged it) or the key was
			// rewritten; or it expired. Only a changed subject says which.
			again, err := lastMsg(ctx, s, subject)
			if err != nil {
				return nil, false, err
			}
			return nil, again != nil && again.Sequence != last, nil
		}
	}
	rec = &record{msg: m}
	if e := m.Header.Get(hdrExp); e != "" {
		rec.exp, _ = strconv.ParseInt(e, 10, 64)
	}
	if c := m.Header.Get(hdrChunks); c != "" {
		for _, f := range strings.Split(c, ",") {
			seq, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return nil, false, fmt.Errorf("reading record %d: bad %s header %q", m.Sequence, hdrChunks, c)
			}
			rec.chunks = append(rec.chunks, seq)
		}
		rec.size, _ = strconv.ParseInt(m.Header.Get(hdrSize), 10, 64)
	}
	return rec, false, nil
}

// Get implements binding.KV.
func (kv *kvNamespace) Get(ctx context.Context, key string) (*binding.KVValue, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	s, err := kv.ensure(ctx)
	if err != nil {
		return nil, err
	}
	subject := kv.subject(key)
	for range kvReadAttempts {
		rec, stale, err := current(ctx, s, subject)
		if err != nil {
			return nil, fmt.Errorf("reading key: %w", err)
		}
		if stale {
			continue
		}
		if rec == nil || rec.expired(time.Now()) {
			return nil, nil
		}
		out := &binding.KVValue{Metadata: rec.metadata(), Expiration: rec.exp}
		if rec.chunks == nil {
			out.Value = rec.msg.Data
			if out.Value == nil {
				out.Value = []byte{}
			}
			return out, nil
		}
		value, ok, err := readChunks(ctx, s, subject, rec)
		if err != nil {
			return nil, fmt.Errorf("reading key: %w", err)
		}
		if ok {
			out.Value = value
			return out, nil
		}
		// A chunk is gone: the value was replaced or deleted while being
		// read (or it expired, which the next round sees).
	}
	return nil, errors.New("reading key: the value kept changing while being read; try again")
}

// readChunks reads a chunked value; ok is false when a chunk is gone.
func readChunks(ctx context.Context, s jetstream.Stream, subject string, rec *record) ([]byte, bool, error) {
	if rec.size < 0 || rec.size > binding.KVMaxValueBytes {
		return nil, false, fmt.Errorf("record %d has a bad %s header", rec.msg.Sequence, hdrSize)
	}
	value := make([]byte, 0, rec.size)
	for _, seq := range rec.chunks {
		m, err := msgAt(ctx, s, seq, subject)
		if err != nil || m == nil {
			return nil, false, err
		}
		value = append(value, m.Data...)
	}
	if int64(len(value)) != rec.size {
		return nil, false, fmt.Errorf("value of record %d has %d bytes, its header says %d", rec.msg.Sequence, len(value), rec.size)
	}
	return value, true, nil
}

// Put implements binding.KV.
func (kv *kvNamespace) Put(ctx context.Context, key string, value []byte, opts binding.KVPutOptions) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if n := int64(len(value)); n > binding.KVMaxValueBytes {
		return binding.Invalid("value of %s is over the %s limit", binding.FormatSize(n), binding.FormatSize(binding.KVMaxValueBytes))
	}
	meta, err := checkMetadata(opts.Metadata)
	if err != nil {
		return err
	}
	exp, ttl, err := expiry(opts, time.Now())
	if err != nil {
		return err
	}
	s, err := kv.ensure(ctx)
	if err != nil {
		return err
	}
	subject := kv.subject(key)
	rec := nats.NewMsg(subject)
	if meta != nil {
		rec.Header.Set(hdrMeta, string(meta))
	}
	if exp != 0 {
		rec.Header.Set(hdrExp, strconv.FormatInt(exp, 10))
	}
	var popts []jetstream.PublishOpt
	if ttl > 0 {
		popts = append(popts, jetstream.WithMsgTTL(ttl))
	}
	chunk := kv.chunkSize()
	if len(value) <= min(kvInlineMax, chunk) {
		rec.Data = value
		rec.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
		if _, err := kv.js.PublishMsg(ctx, rec, popts...); err != nil {
			return fmt.Errorf("writing key: %w", err)
		}
		return nil
	}
	return kv.putChunked(ctx, s, rec, value, chunk, ttl)
}

// chunkSize is the largest chunk the connected server takes.
func (kv *kvNamespace) chunkSize() int {
	return int(min(kv.js.Conn().MaxPayload(), kvChunkMax)) - kvHeaderRoom
}

// putChunked writes a value bigger than one message: chunks, then the
// record naming them, each publish chained to the previous one, then a
// purge of what they replace. A chain broken by another writer starts over.
func (kv *kvNamespace) putChunked(ctx context.Context, s jetstream.Stream, rec *nats.Msg, value []byte, chunk int, ttl time.Duration) error {
	var chunkOpts, recOpts []jetstream.PublishOpt
	if ttl > 0 {
		chunkOpts = append(chunkOpts, jetstream.WithMsgTTL(ttl+kvChunkTTLMargin))
		recOpts = append(recOpts, jetstream.WithMsgTTL(ttl))
	}
	subject := rec.Subject
	rec.Header.Set(hdrSize, strconv.Itoa(len(value)))
	for attempt := range kvPutAttempts {
		if attempt > 0 {
			// Random backoff, growing to 100 ms, so writers that keep
			// breaking each other's chains fall out of step.
			d := time.Duration(1+rand.IntN(min(2<<attempt, 100))) * time.Millisecond
			select {
			case <-ctx.Done():
				return fmt.Errorf("writing key: %w", ctx.Err())
			case <-time.After(d):
			}
		}
		last, err := lastMsg(ctx, s, subject)
		if err != nil {
			return fmt.Errorf("writing key: %w", err)
		}
		var expect, prev uint64
		if last != nil {
			expect, prev = last.Sequence, last.Sequence
			if last.Header.Get(hdrChunk) != "" {
				prev, _ = strconv.ParseUint(last.Header.Get(hdrPrev), 10, 64)
			}
		}
		seqs := make([]string, 0, (len(value)+chunk-1)/chunk)
		var first uint64
		conflict := false
		for i := 0; i < len(value); i += chunk {
			m := nats.NewMsg(subject)
			m.Data = value[i:min(i+chunk, len(value))]
			m.Header.Set(hdrChunk, strconv.Itoa(len(seqs)))
			m.Header.Set(hdrPrev, strconv.FormatUint(prev, 10))
			ack, err := kv.js.PublishMsg(ctx, m, append(chunkOpts, jetstream.WithExpectLastSequencePerSubject(expect))...)
			if isWrongLastSequence(err) {
				conflict = true
				break
			}
			if err != nil {
				return fmt.Errorf("writing chunk %d of key: %w", len(seqs), err)
			}
			if first == 0 {
				first = ack.Sequence
			}
			expect = ack.Sequence
			seqs = append(seqs, strconv.FormatUint(ack.Sequence, 10))
		}
		if conflict {
			continue
		}
		rec.Header.Set(hdrChunks, strings.Join(seqs, ","))
		_, err = kv.js.PublishMsg(ctx, rec, append(recOpts, jetstream.WithExpectLastSequencePerSubject(expect))...)
		if isWrongLastSequence(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("writing key: %w", err)
		}
		// Drop the replaced value and leftovers of writes that died or
		// lost; never anything newer than this write's first chunk.
		if err := s.Purge(ctx, jetstream.WithPurgeSubject(subject), jetstream.WithPurgeSequence(first)); err != nil {
			return fmt.Errorf("removing the replaced value of key: %w", err)
		}
		return nil
	}
	return errors.New("writing key: too many concurrent writes to the key; try again")
}

// isWrongLastSequence reports a failed Nats-Expected-Last-Subject-Sequence.
func isWrongLastSequence(err error) bool {
	var ae *jetstream.APIError
	return errors.As(err, &ae) &&
		(ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Delete implements binding.KV: every message of the key goes, so a write
// in progress starts over.
func (kv *kvNamespace) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	s, err := kv.ensure(ctx)
	if err != nil {
		return err
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject(kv.subject(key))); err != nil {
		return fmt.Errorf("deleting key: %w", err)
	}
	return nil
}

// List implements binding.KV. The cursor is the last key returned,
// base64url-encoded; keys are in byte order.
func (kv *kvNamespace) List(ctx context.Context, opts binding.KVListOptions) (*binding.KVList, error) {
	limit := opts.Limit
	switch {
	case limit < 0 || limit > binding.KVMaxListLimit:
		return nil, binding.Invalid("limit %d must be between 1 and %d", limit, binding.KVMaxListLimit)
	case limit == 0:
		limit = binding.KVMaxListLimit
	}
	if len(opts.Prefix) > binding.KVMaxKeyBytes {
		return nil, binding.Invalid("prefix of %d bytes is over the %d-byte key limit", len(opts.Prefix), binding.KVMaxKeyBytes)
	}
	after, err := decodeCursor(opts.Cursor)
	if err != nil {
		return nil, err
	}
	s, err := kv.ensure(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := kv.keys(ctx, s, opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	slices.Sort(keys)
	start := 0
	if opts.Cursor != "" {
		start, _ = slices.BinarySearch(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	end := min(start+limit, len(keys))
	page := keys[start:end]
	out := &binding.KVList{Keys: make([]binding.KVKey, 0, len(page)), Complete: end == len(keys)}
	recs, err := kv.records(ctx, s, page)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	now := time.Now()
	for i, rec := range recs {
		if rec == nil || rec.expired(now) {
			continue
		}
		out.Keys = append(out.Keys, binding.KVKey{Name: page[i], Expiration: rec.exp, Metadata: rec.metadata()})
	}
	if !out.Complete && len(page) > 0 {
		out.Cursor = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1]))
	}
	return out, nil
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", binding.Invalid("cursor %q is not one a list returned", c)
	}
	return string(b), nil
}

// keys returns the keys with prefix (unordered), from the stream's subject
// index.
func (kv *kvNamespace) keys(ctx context.Context, s jetstream.Stream, prefix string) ([]string, error) {
	var filters []string
	if prefix == "" {
		filters = []string{kv.prefix + ">"}
	} else {
		exact := kv.subject(prefix)
		filters = []string{exact, exact + ".>"}
	}
	var keys []string
	for _, f := range filters {
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(f))
		if err != nil {
			return nil, err
		}
		for subj := range info.State.Subjects {
			if key, ok := decodeKey(strings.TrimPrefix(subj, kv.prefix)); ok && strings.HasPrefix(key, prefix) {
				keys = append(keys, key)
			}
		}
	}
	return keys, nil
}

// records reads the records of keys; an absent key's entry is nil.
func (kv *kvNamespace) records(ctx context.Context, s jetstream.Stream, keys []string) ([]*record, error) {
	out := make([]*record, len(keys))
	err := parallel(len(keys), func(i int) error {
		subject := kv.subject(keys[i])
		for range kvReadAttempts {
			rec, stale, err := current(ctx, s, subject)
			if err != nil || !stale {
				out[i] = rec
				return err
			}
		}
		return nil
	})
	return out, err
}

var _ binding.KV = (*kvNamespace)(nil)

// kvNamespaces opens the KV bindings of a manifest, by binding name.
func kvNamespaces(d Deps, appName string, list []app.KVBinding) (map[string]binding.KV, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make(map[string]binding.KV, len(list))
	for _, b := range list {
		kv, err := OpenKV(d.Store, appName, manifest.Namespace(b))
		if err != nil {
			return nil, fmt.Errorf("kv binding %s: %w", b.Binding, err)
		}
		out[b.Binding] = kv
	}
	return out, nil
}
