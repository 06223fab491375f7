package bindings

// Blob buckets on JetStream object stores.
//
// A bucket is the object store bucket_<app>_<bucket> (stream
// OBJ_bucket_<app>_<bucket>), created on first use with the store's replica
// count. Objects are written with the object store's own Put, which reads
// the body in 128 KiB chunks and publishes each as it goes, so an upload is
// never held whole in memory. Reads do not use the object store's Get (a
// push consumer per read that runs ahead of a slow reader): the reader here
// fetches one chunk per Read with a direct get, so a body read at the pace
// of a slow client holds one chunk, and a small object costs two direct
// gets (meta, chunk) instead of a consumer.
//
// Metadata: httpMetadata is stored as the object's headers (Content-Type,
// Content-Language, Content-Disposition, Content-Encoding, Cache-Control,
// Expires for cacheExpiry), customMetadata as its metadata map (at most 2
// KiB of names and values). The etag is the hex SHA-256 of the content,
// which the object store computes on upload anyway (R2 uses MD5; nothing
// here computes a second digest), and reads check it at the end.
//
// Delete removes the object's meta message and its chunks outright rather
// than leaving the object store's delete marker, so listings never have to
// skip deleted names. List reads the names from the stream's subject index,
// sorts them and reads the meta of the page's objects; its cost grows with
// the number of objects in the bucket, not only the page.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/manifest"
	"github.com/kumo-dev/kumo/internal/store"
)

// storeWorkers is how many records or metas a list reads, or objects a
// delete removes, at once.
const storeWorkers = 16

// httpMetaHeaders maps R2's httpMetadata fields to the headers they are
// stored as.
var httpMetaHeaders = map[string]string{
	"contentType":        "Content-Type",
	"contentLanguage":    "Content-Language",
	"contentDisposition": "Content-Disposition",
	"contentEncoding":    "Content-Encoding",
	"cacheControl":       "Cache-Control",
	"cacheExpiry":        "Expires",
}

// BucketStoreName is the object store of bucket b of app.
func BucketStoreName(app, b string) string { return "bucket_" + app + "_" + b }

// objectBucket is a binding.Bucket over one object store. It is safe for
// concurrent use.
type objectBucket struct {
	js       jetstream.JetStream
	name     string
	desc     string
	replicas int

	mu     sync.Mutex
	obs    jetstream.ObjectStore // nil until the first use provisioned it
	stream jetstream.Stream
}

// OpenBucket returns bucket b of app. The object store is created on
// first use, so opening is cheap and cannot fail on the store.
func OpenBucket(st *store.Store, app, b string) (binding.Bucket, error) {
	if err := ValidResourceName("bucket", b); err != nil {
		return nil, err
	}
	return &objectBucket{
		js:       st.JetStream(),
		name:     BucketStoreName(app, b),
		desc:     fmt.Sprintf("Kumo bucket %s of app %s", b, app),
		replicas: st.Replicas(),
	}, nil
}

func (b *objectBucket) ensure(ctx context.Context) (jetstream.ObjectStore, jetstream.Stream, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.obs != nil {
		return b.obs, b.stream, nil
	}
	obs, err := b.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      b.name,
		Description: b.desc,
		Storage:     jetstream.FileStorage,
		Replicas:    b.replicas,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("provisioning object store %s: %w", b.name, err)
	}
	s, err := b.js.Stream(ctx, "OBJ_"+b.name)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the stream of object store %s: %w", b.name, err)
	}
	b.obs, b.stream = obs, s
	return obs, s, nil
}

func (b *objectBucket) metaSubject(key string) string {
	return "$O." + b.name + ".M." + base64.URLEncoding.EncodeToString([]byte(key))
}

func (b *objectBucket) chunkSubject(nuid string) string { return "$O." + b.name + ".C." + nuid }

func checkObjectKey(key string) error {
	switch {
	case key == "":
		return binding.Invalid("key is empty")
	case len(key) > binding.ObjectMaxKeyBytes:
		return binding.Invalid("key of %d bytes is over the %d-byte limit", len(key), binding.ObjectMaxKeyBytes)
	case !utf8.ValidString(key):
		return binding.Invalid("key is not valid UTF-8")
	}
	return nil
}

// Put implements binding.Bucket.
func (b *objectBucket) Put(ctx context.Context, key string, body io.Reader, opts binding.ObjectPutOptions) (*binding.ObjectInfo, error) {
	if err := checkObjectKey(key); err != nil {
		return nil, err
	}
	meta := jetstream.ObjectMeta{Name: key}
	for field, v := range opts.HTTPMetadata {
		h, ok := httpMetaHeaders[field]
		if !ok {
			return nil, binding.Invalid("httpMetadata has no field %q (known: contentType, contentLanguage, contentDisposition, contentEncoding, cacheControl, cacheExpiry)", field)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, binding.Invalid("httpMetadata.%s contains a line break", field)
		}
		if meta.Headers == nil {
			meta.Headers = nats.Header{}
		}
		meta.Headers.Set(h, v)
	}
	size := 0
	for k, v := range opts.CustomMetadata {
		size += len(k) + len(v)
	}
	if size > binding.ObjectMaxCustomMetaBytes {
		return nil, binding.Invalid("customMetadata of %d bytes is over the %d-byte limit", size, binding.ObjectMaxCustomMetaBytes)
	}
	if len(opts.CustomMetadata) > 0 {
		meta.Metadata = opts.CustomMetadata
	}
	obs, _, err := b.ensure(ctx)
	if err != nil {
		return nil, err
	}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	info, err := obs.Put(ctx, meta, fullReader{body})
	if err != nil {
		return nil, fmt.Errorf("writing object: %w", err)
	}
	return objectInfo(info)
}

// fullReader fills every Read it can, so the object store (which publishes
// what each Read returns) writes full chunks even from a source that
// trickles, like a stream written from JavaScript.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if err == io.ErrUnexpectedEOF {
		err = nil // the next Read reports io.EOF
	}
	return n, err
}

// objectInfo converts the object store's info.
func objectInfo(info *jetstream.ObjectInfo) (*binding.ObjectInfo, error) {
	out := &binding.ObjectInfo{
		Key:            info.Name,
		Size:           int64(info.Size),
		Uploaded:       info.ModTime,
		CustomMetadata: info.Metadata,
	}
	if info.Digest != "" {
		sum, err := jetstream.DecodeObjectDigest(info.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading the digest of object %q: %w", info.Name, err)
		}
		out.ETag = hex.EncodeToString(sum)
	}
	for field, h := range httpMetaHeaders {
		if v := info.Headers.Get(h); v != "" {
			if out.HTTPMetadata == nil {
				out.HTTPMetadata = make(map[string]string)
			}
			out.HTTPMetadata[field] = v
		}
	}
	return out, nil
}

// info reads the meta of key; nil when absent.
func (b *objectBucket) info(ctx context.Context, s jetstream.Stream, key string) (*jetstream.ObjectInfo, uint64, error) {
	m, err := s.GetLastMsgForSubject(ctx, b.metaSubject(key))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading object meta: %w", err)
	}
	var info jetstream.ObjectInfo
	if err := json.Unmarshal(m.Data, &info); err != nil {
		return nil, 0, fmt.Errorf("reading object meta: %w", err)
	}
	if info.Deleted {
		return nil, 0, nil
	}
	info.ModTime = m.Time
	return &info, m.Sequence, nil
}

// Head implements binding.Bucket.
func (b *objectBucket) Head(ctx context.Context, key string) (*binding.ObjectInfo, error) {
	if err := checkObjectKey(key); err != nil {
		return nil, err
	}
	_, s, err := b.ensure(ctx)
	if err != nil {
		return nil, err
	}
	info, _, err := b.info(ctx, s, key)
	if err != nil || info == nil {
		return nil, err
	}
	return objectInfo(info)
}

// Get implements binding.Bucket. ctx also bounds the reads of the body.
func (b *objectBucket) Get(ctx context.Context, key string) (*binding.ObjectInfo, io.ReadCloser, error) {
	if err := checkObjectKey(key); err != nil {
		return nil, nil, err
	}
	_, s, err := b.ensure(ctx)
	if err != nil {
		return nil, nil, err
	}
	info, _, err := b.info(ctx, s, key)
	if err != nil || info == nil {
		return nil, nil, err
	}
	out, err := objectInfo(info)
	if err != nil {
		return nil, nil, err
	}
	want, err := jetstream.DecodeObjectDigest(info.Digest)
	if err != nil && info.Size > 0 {
		return nil, nil, fmt.Errorf("reading the digest of object %q: %w", key, err)
	}
	return out, &objectReader{
		ctx: ctx, s: s, subject: b.chunkSubject(info.NUID),
		chunks: info.Chunks, size: int64(info.Size), want: want, sum: sha256.New(),
	}, nil
}

// objectReader reads an object's chunks in order, one direct get per
// chunk, and checks the size and digest at the end.
type objectReader struct {
	ctx     context.Context
	s       jetstream.Stream
	subject string
	chunks  uint32 // left to fetch
	size    int64
	read    int64
	next    uint64 // stream sequence to look for the next chunk from
	want    []byte
	sum     hash.Hash
	buf     []byte
	err     error
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(r.buf) == 0 {
		if r.chunks == 0 {
			r.err = r.finish()
			return 0, r.err
		}
		m, err := r.s.GetMsg(r.ctx, r.next, jetstream.WithGetMsgSubject(r.subject))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			r.err = errors.New("reading object: it was deleted or replaced while being read")
			return 0, r.err
		case err != nil:
			if ctxErr := r.ctx.Err(); ctxErr != nil {
				err = ctxErr
			}
			r.err = fmt.Errorf("reading object: %w", err)
			return 0, r.err
		}
		r.chunks--
		r.next = m.Sequence + 1
		r.buf = m.Data
		r.sum.Write(m.Data)
		r.read += int64(len(m.Data))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *objectReader) finish() error {
	if r.read != r.size {
		return fmt.Errorf("reading object: read %d bytes, its meta says %d", r.read, r.size)
	}
	if r.size > 0 && !bytes.Equal(r.sum.Sum(nil), r.want) {
		return errors.New("reading object: content does not match its SHA-256 digest")
	}
	return io.EOF
}

// Close stops the reader; the caller's context ends any fetch in flight.
func (r *objectReader) Close() error {
	if r.err == nil {
		r.err = errors.New("reading object: body closed")
	}
	r.buf = nil
	return nil
}

// Delete implements binding.Bucket: for each key the meta goes first (the
// object is then gone for readers), then its chunks. A key that does not
// exist is not an error.
func (b *objectBucket) Delete(ctx context.Context, keys ...string) error {
	if len(keys) > binding.ObjectMaxDeleteKeys {
		return binding.Invalid("%d keys to delete is over the limit of %d", len(keys), binding.ObjectMaxDeleteKeys)
	}
	for _, k := range keys {
		if err := checkObjectKey(k); err != nil {
			return binding.Invalid("key %q: %v", k, err)
		}
	}
	_, s, err := b.ensure(ctx)
	if err != nil {
		return err
	}
	return parallel(len(keys), func(i int) error {
		key := keys[i]
		m, err := s.GetLastMsgForSubject(ctx, b.metaSubject(key))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("deleting object %q: %w", key, err)
		}
		var info jetstream.ObjectInfo
		if err := json.Unmarshal(m.Data, &info); err != nil {
			return fmt.Errorf("deleting object %q: reading its meta: %w", key, err)
		}
		// Only up to the meta read: a put racing this delete keeps its own.
		if err := s.Purge(ctx, jetstream.WithPurgeSubject(m.Subject), jetstream.WithPurgeSequence(m.Sequence+1)); err != nil {
			return fmt.Errorf("deleting object %q: %w", key, err)
		}
		if info.NUID != "" {
			if err := s.Purge(ctx, jetstream.WithPurgeSubject(b.chunkSubject(info.NUID))); err != nil {
				return fmt.Errorf("deleting the content of object %q: %w", key, err)
			}
		}
		return nil
	})
}

// List implements binding.Bucket. Keys are in byte order; with a
// delimiter, keys that contain it after the prefix are rolled up into
// DelimitedPrefixes, and each prefix counts once towards the limit. The
// cursor encodes the last entry returned.
func (b *objectBucket) List(ctx context.Context, opts binding.ObjectListOptions) (*binding.ObjectList, error) {
	limit := opts.Limit
	switch {
	case limit < 0 || limit > binding.ObjectMaxListLimit:
		return nil, binding.Invalid("limit %d must be between 1 and %d", limit, binding.ObjectMaxListLimit)
	case limit == 0:
		limit = binding.ObjectMaxListLimit
	}
	if len(opts.Prefix) > binding.ObjectMaxKeyBytes || len(opts.Delimiter) > binding.ObjectMaxKeyBytes {
		return nil, binding.Invalid("prefix and delimiter must be at most %d bytes", binding.ObjectMaxKeyBytes)
	}
	after, afterPrefix, err := decodeListCursor(opts.Cursor)
	if err != nil {
		return nil, err
	}
	_, s, err := b.ensure(ctx)
	if err != nil {
		return nil, err
	}
	names, err := b.names(ctx, s, opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	slices.Sort(names)
	i, _ := slices.BinarySearch(names, after)
	out := &binding.ObjectList{}
	var keys []string
	var last string // last entry: a key, or a prefix (lastIsPrefix)
	lastIsPrefix := false
	emitted := 0
	for ; i < len(names); i++ {
		name := names[i]
		if opts.Cursor != "" && (name == after || afterPrefix && strings.HasPrefix(name, after)) {
			continue
		}
		if lastIsPrefix && strings.HasPrefix(name, last) {
			continue
		}
		if emitted == limit {
			out.Truncated = true
			break
		}
		if opts.Delimiter != "" {
			rest := name[len(opts.Prefix):]
			if j := strings.Index(rest, opts.Delimiter); j >= 0 {
				last, lastIsPrefix = opts.Prefix+rest[:j+len(opts.Delimiter)], true
				out.DelimitedPrefixes = append(out.DelimitedPrefixes, last)
				emitted++
				continue
			}
		}
		last, lastIsPrefix = name, false
		keys = append(keys, name)
		emitted++
	}
	infos := make([]*binding.ObjectInfo, len(keys))
	err = parallel(len(keys), func(i int) error {
		info, _, err := b.info(ctx, s, keys[i])
		if err != nil || info == nil {
			return err
		}
		infos[i], err = objectInfo(info)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing objects: %w", err)
	}
	for _, info := range infos {
		if info != nil {
			out.Objects = append(out.Objects, *info)
		}
	}
	if out.Truncated {
		kind := "k"
		if lastIsPrefix {
			kind = "p"
		}
		out.Cursor = base64.RawURLEncoding.EncodeToString([]byte(kind + last))
	}
	return out, nil
}

// decodeListCursor returns the entry a cursor names and whether it is a
// delimited prefix.
func decodeListCursor(c string) (string, bool, error) {
	if c == "" {
		return "", false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < 2 || raw[0] != 'k' && raw[0] != 'p' {
		return "", false, binding.Invalid("cursor %q is not one a list returned", c)
	}
	return string(raw[1:]), raw[0] == 'p', nil
}

// names returns the object names with prefix, unordered, from the stream's
// subject index.
func (b *objectBucket) names(ctx context.Context, s jetstream.Stream, prefix string) ([]string, error) {
	metaPrefix := "$O." + b.name + ".M."
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(metaPrefix+">"))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		raw, err := base64.URLEncoding.DecodeString(strings.TrimPrefix(subj, metaPrefix))
		if err != nil {
			continue
		}
		if name := string(raw); strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	return names, nil
}

// parallel runs fn(0..n-1) on up to storeWorkers goroutines and joins
// their errors.
func parallel(n int, fn func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(storeWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

var (
	_ binding.Bucket = (*objectBucket)(nil)
	_ io.ReadCloser  = (*objectReader)(nil)
)

// buckets opens the bucket bindings of a manifest, by binding name.
func buckets(d Deps, appName string, list []app.BucketBinding) (map[string]binding.Bucket, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make(map[string]binding.Bucket, len(list))
	for _, b := range list {
		bk, err := OpenBucket(d.Store, appName, manifest.Bucket(b))
		if err != nil {
			return nil, fmt.Errorf("bucket binding %s: %w", b.Binding, err)
		}
		out[b.Binding] = bk
	}
	return out, nil
}
