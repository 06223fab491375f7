package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/engine"
)

// bucketTimeout bounds a bucket operation that moves no body (head, list,
// delete, and the metadata read of a get).
const bucketTimeout = 30 * time.Second

func bucketOps() []engine.Op {
	return []engine.Op{
		{Name: "op_bucket_head", Fn: opBucketHead},
		{Name: "op_bucket_get", Fn: opBucketGet},
		{Name: "op_bucket_put", Fn: opBucketPut},
		{Name: "op_bucket_put_stream", Fn: opBucketPutStream},
		{Name: "op_bucket_put_write", Fn: opBucketPutWrite},
		{Name: "op_bucket_put_end", Fn: opBucketPutEnd},
		{Name: "op_bucket_delete", Fn: opBucketDelete},
		{Name: "op_bucket_list", Fn: opBucketList},
	}
}

// uploadTable holds the bucket uploads whose body JS streams chunk by
// chunk (op_bucket_put_stream), by id. The id is that of a body resource
// standing for the upload, so ResetInvocation, which closes every
// resource, also aborts uploads left unfinished.
type uploadTable struct {
	mu sync.Mutex
	m  map[int]*upload
}

// upload is one streamed bucket put: JS writes into pw, the bucket's Put
// reads the other end in its own goroutine and reports on done.
type upload struct {
	pw   *io.PipeWriter
	done chan struct{}
	info *binding.ObjectInfo
	err  error
}

func (t *uploadTable) add(id int, u *upload) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[int]*upload)
	}
	t.m[id] = u
}

func (t *uploadTable) get(id int) *upload {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *uploadTable) remove(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, id)
}

// bucket returns the bucket binding env[name].
func (h *Host) bucket(name, api string) (binding.Bucket, error) {
	var b binding.Bucket
	if h.Bindings != nil {
		b = h.Bindings.Buckets[name]
	}
	if b == nil {
		return nil, engine.TypeError("%s: env.%s is not a bucket binding of this version", api, name)
	}
	return b, nil
}

// objectJSON is an object's description as the JS layer takes it.
type objectJSON struct {
	Key            string            `json:"key"`
	Size           int64             `json:"size"`
	ETag           string            `json:"etag"`
	Uploaded       int64             `json:"uploaded"` // unix milliseconds
	HTTPMetadata   map[string]string `json:"httpMetadata"`
	CustomMetadata map[string]string `json:"customMetadata"`
}

func toObjectJSON(info *binding.ObjectInfo) objectJSON {
	o := objectJSON{
		Key: info.Key, Size: info.Size, ETag: info.ETag, Uploaded: info.Uploaded.UnixMilli(),
		HTTPMetadata: info.HTTPMetadata, CustomMetadata: info.CustomMetadata,
	}
	if o.HTTPMetadata == nil {
		o.HTTPMetadata = map[string]string{}
	}
	if o.CustomMetadata == nil {
		o.CustomMetadata = map[string]string{}
	}
	return o
}

func objectResult(info *binding.ObjectInfo) (engine.JSON, error) {
	b, err := json.Marshal(toObjectJSON(info))
	return engine.JSON(b), err
}

// op_bucket_head(binding, key) resolves to the object's description (JSON
// value) or null when it does not exist.
func opBucketHead(c *engine.Call) error {
	const api = "R2Bucket.head"
	b, err := host(c).bucket(c.String(0), api)
	if err != nil {
		return err
	}
	key := c.String(1)
	return storeCall(c, api, bucketTimeout, func(ctx context.Context) (any, error) {
		info, err := b.Head(ctx, key)
		if err != nil || info == nil {
			return nil, err
		}
		return objectResult(info)
	})
}

// op_bucket_get(binding, key) resolves to null when the object does not
// exist, else to [description, rid]: rid is a body resource streaming the
// content from the store as it is read.
func opBucketGet(c *engine.Call) error {
	const api = "R2Bucket.get"
	h := host(c)
	b, err := h.bucket(c.String(0), api)
	if err != nil {
		return err
	}
	key := c.String(1)
	p, err := c.Promise()
	if err != nil {
		return err
	}
	gen := h.io.gen.Load()
	go func() {
		// The body is read for as long as JS wants it: the context ends
		// when the resource is closed (read to the end, cancelled, or the
		// invocation is over), not on a timer.
		// The metadata read alone is bounded by bucketTimeout.
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(bucketTimeout, cancel)
		info, body, err := b.Get(ctx, key)
		if !timer.Stop() && err == nil && info != nil {
			body.Close()
			err = context.DeadlineExceeded
		}
		if err != nil {
			cancel()
			p.Reject(bindingError(api, err))
			return
		}
		if info == nil {
			cancel()
			p.Resolve(nil)
			return
		}
		desc, err := json.Marshal(toObjectJSON(info))
		if err != nil {
			cancel()
			body.Close()
			p.Reject(bindingError(api, err))
			return
		}
		rid, ok := h.addResourceFor(&bodyResource{r: body, onClose: cancel}, gen)
		if !ok {
			p.Reject(engine.DOMException("AbortError", "%s: the invocation ended", api))
			return
		}
		p.Resolve([]any{engine.JSON(desc), rid})
	}()
	return nil
}

// putOptions parses the metadata arguments of the put ops: JSON objects of
// strings, or null.
func putOptions(api, httpJSON, customJSON string) (binding.ObjectPutOptions, error) {
	var opts binding.ObjectPutOptions
	if httpJSON != "" {
		if err := json.Unmarshal([]byte(httpJSON), &opts.HTTPMetadata); err != nil {
			return opts, engine.TypeError("%s: httpMetadata: %v", api, err)
		}
	}
	if customJSON != "" {
		if err := json.Unmarshal([]byte(customJSON), &opts.CustomMetadata); err != nil {
			return opts, engine.TypeError("%s: customMetadata: %v", api, err)
		}
	}
	return opts, nil
}

func stringArg(c *engine.Call, i int) string {
	if c.IsNullish(i) {
		return ""
	}
	return c.String(i)
}

// op_bucket_put(binding, key, httpMetadataJSON, customMetadataJSON, body)
// stores an object whose body is null, a string, bytes, or the id of a body
// resource, which is streamed into the store (and closed). It resolves to
// the new object's description.
func opBucketPut(c *engine.Call) error {
	const api = "R2Bucket.put"
	h := host(c)
	b, err := h.bucket(c.String(0), api)
	if err != nil {
		return err
	}
	key := c.String(1)
	opts, err := putOptions(api, stringArg(c, 2), stringArg(c, 3))
	if err != nil {
		return err
	}
	var body io.Reader
	var res *bodyResource
	rid := -1
	arg := c.Arg(4)
	switch {
	case arg.IsNull() || arg.IsUndefined():
	case arg.IsString():
		body = strings.NewReader(toUSV(c.String(4)))
	case arg.IsObject():
		buf, ok := c.Bytes(4)
		if !ok {
			return engine.TypeError("%s: body is not a string or bytes", api)
		}
		body = bytes.NewReader(buf)
	default:
		rid = int(c.Int(4))
		if res, err = h.takeResource(rid, api); err != nil {
			return err
		}
		body = res.r
	}
	p, err := c.Promise()
	if err != nil {
		if res != nil {
			res.busy.Store(false)
		}
		return err
	}
	go func() {
		// A resource body ends with the invocation (ResetInvocation closes
		// it), which fails the put; a body in memory goes in at once.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		info, err := b.Put(ctx, key, body, opts)
		if res != nil {
			res.busy.Store(false)
			h.closeResource(rid)
		}
		if err != nil {
			p.Reject(bindingError(api, err))
			return
		}
		r, err := objectResult(info)
		if err != nil {
			p.Reject(bindingError(api, err))
			return
		}
		p.Resolve(r)
	}()
	return nil
}

// op_bucket_put_stream(binding, key, httpMetadataJSON, customMetadataJSON)
// starts a put whose body JS writes with op_bucket_put_write and ends with
// op_bucket_put_end, and returns its id.
func opBucketPutStream(c *engine.Call) error {
	const api = "R2Bucket.put"
	h := host(c)
	b, err := h.bucket(c.String(0), api)
	if err != nil {
		return err
	}
	key := c.String(1)
	opts, err := putOptions(api, stringArg(c, 2), stringArg(c, 3))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	u := &upload{pw: pw, done: make(chan struct{})}
	// The resource stands for the upload: closing it (ResetInvocation)
	// aborts the put and forgets the upload.
	var id int
	id = h.addResource(&bodyResource{r: pr, onClose: func() {
		cancel()
		h.uploads.remove(id)
	}})
	h.uploads.add(id, u)
	go func() {
		defer cancel()
		u.info, u.err = b.Put(ctx, key, pr, opts)
		pr.CloseWithError(errUploadOver)
		close(u.done)
	}()
	return c.Return(id)
}

var errUploadOver = errors.New("the upload is over")

// op_bucket_put_write(id, chunk) writes a chunk of a streamed put and
// resolves once the store's side took it, which paces JS to the store.
func opBucketPutWrite(c *engine.Call) error {
	const api = "R2Bucket.put"
	h := host(c)
	u := h.uploads.get(int(c.Int(0)))
	if u == nil {
		return engine.TypeError("%s: no upload %d in progress", api, c.Int(0))
	}
	chunk, ok := c.Bytes(1)
	if !ok {
		return engine.TypeError("%s: chunk is not bytes", api)
	}
	p, err := c.Promise()
	if err != nil {
		return err
	}
	go func() {
		if _, err := u.pw.Write(chunk); err != nil {
			// The put failed or was aborted: its own error says why.
			<-u.done
			if u.err != nil {
				err = u.err
			}
			p.Reject(bindingError(api, err))
			return
		}
		p.Resolve(engine.Undefined{})
	}()
	return nil
}

// op_bucket_put_end(id, error) ends a streamed put's body, cleanly when
// error is null, else failing the put with error; it resolves to the new
// object's description once the store has it.
func opBucketPutEnd(c *engine.Call) error {
	const api = "R2Bucket.put"
	h := host(c)
	id := int(c.Int(0))
	u := h.uploads.get(id)
	if u == nil {
		return engine.TypeError("%s: no upload %d in progress", api, id)
	}
	if c.IsNullish(1) {
		u.pw.Close()
	} else {
		u.pw.CloseWithError(errors.New(c.String(1)))
	}
	p, err := c.Promise()
	if err != nil {
		return err
	}
	go func() {
		<-u.done
		h.uploads.remove(id)
		h.closeResource(id)
		if u.err != nil {
			p.Reject(bindingError(api, u.err))
			return
		}
		r, err := objectResult(u.info)
		if err != nil {
			p.Reject(bindingError(api, err))
			return
		}
		p.Resolve(r)
	}()
	return nil
}

// op_bucket_delete(binding, keysJSON) deletes the objects named by a JSON
// array of keys; absent ones are not an error.
func opBucketDelete(c *engine.Call) error {
	const api = "R2Bucket.delete"
	b, err := host(c).bucket(c.String(0), api)
	if err != nil {
		return err
	}
	var keys []string
	if err := json.Unmarshal([]byte(c.String(1)), &keys); err != nil {
		return engine.TypeError("%s: keys: %v", api, err)
	}
	return storeCall(c, api, bucketTimeout, func(ctx context.Context) (any, error) {
		return engine.Undefined{}, b.Delete(ctx, keys...)
	})
}

// bucketListJSON is what op_bucket_list resolves to.
type bucketListJSON struct {
	Objects           []objectJSON `json:"objects"`
	DelimitedPrefixes []string     `json:"delimitedPrefixes"`
	Truncated         bool         `json:"truncated"`
	Cursor            string       `json:"cursor,omitempty"`
}

// op_bucket_list(binding, prefix, cursor, delimiter, limit) resolves to one
// page: {objects, delimitedPrefixes, truncated, cursor?}. limit 0 means the
// maximum, 1000.
func opBucketList(c *engine.Call) error {
	const api = "R2Bucket.list"
	b, err := host(c).bucket(c.String(0), api)
	if err != nil {
		return err
	}
	opts := binding.ObjectListOptions{Prefix: c.String(1), Cursor: c.String(2), Delimiter: c.String(3), Limit: int(c.Int(4))}
	return storeCall(c, api, bucketTimeout, func(ctx context.Context) (any, error) {
		l, err := b.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		out := bucketListJSON{
			Objects:           make([]objectJSON, len(l.Objects)),
			DelimitedPrefixes: l.DelimitedPrefixes,
			Truncated:         l.Truncated,
			Cursor:            l.Cursor,
		}
		if out.DelimitedPrefixes == nil {
			out.DelimitedPrefixes = []string{}
		}
		for i := range l.Objects {
			out.Objects[i] = toObjectJSON(&l.Objects[i])
		}
		buf, err := json.Marshal(out)
		return engine.JSON(buf), err
	})
}
