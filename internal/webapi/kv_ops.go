package webapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/engine"
)

// kvTimeout bounds one KV operation; the store answers in microseconds
// unless it is unreachable.
const kvTimeout = 30 * time.Second

// Modes of op_kv_get: how the value comes back.
const (
	kvGetText   = 0 // a string
	kvGetBytes  = 1 // a Uint8Array
	kvGetStream = 2 // the id of a body resource
)

func kvOps() []engine.Op {
	return []engine.Op{
		{Name: "op_kv_get", Fn: opKVGet},
		{Name: "op_kv_put", Fn: opKVPut},
		{Name: "op_kv_delete", Fn: opKVDelete},
		{Name: "op_kv_list", Fn: opKVList},
	}
}

// kv returns the KV binding env[name].
func (h *Host) kv(name, api string) (binding.KV, error) {
	var kv binding.KV
	if h.Bindings != nil {
		kv = h.Bindings.KV[name]
	}
	if kv == nil {
		return nil, engine.TypeError("%s: env.%s is not a KV namespace binding of this version", api, name)
	}
	return kv, nil
}

// bindingError turns an error of a binding call into the error JS sees,
// naming the API: a TypeError for bad input, an AbortError when the
// invocation ended, a plain Error for a failure of the store.
func bindingError(api string, err error) error {
	var je *engine.JSError
	switch {
	case errors.As(err, &je):
		return je
	case binding.IsInvalid(err):
		return engine.TypeError("%s: %v", api, err)
	case errors.Is(err, context.Canceled):
		return engine.DOMException("AbortError", "%s: the operation was aborted", api)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: the store did not answer in time", api)
	}
	return fmt.Errorf("%s: %v", api, err)
}

// addResourceFor registers res as a body resource of the invocation of
// generation gen; when that invocation is over it is closed instead and ok
// is false.
func (h *Host) addResourceFor(res *bodyResource, gen uint64) (rid int, ok bool) {
	s := &h.io
	s.mu.Lock()
	if s.gen.Load() != gen {
		s.mu.Unlock()
		res.close()
		return 0, false
	}
	if s.resources == nil {
		s.resources = make(map[int]*bodyResource)
	}
	s.nextID++
	rid = s.nextID
	s.resources[rid] = res
	s.mu.Unlock()
	return rid, true
}

// op_kv_get(binding, key, mode) resolves to null when the key is absent,
// else to [value, metadataJSON | null, expiration (unix seconds, 0 for
// none)]; value is a string, a Uint8Array or a body resource id by mode.
func opKVGet(c *engine.Call) error {
	const api = "KV.get"
	h := host(c)
	kv, err := h.kv(c.String(0), api)
	if err != nil {
		return err
	}
	key := c.String(1)
	mode := c.Int(2)
	p, err := c.Promise()
	if err != nil {
		return err
	}
	gen := h.io.gen.Load()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
		defer cancel()
		v, err := kv.Get(ctx, key)
		if err != nil {
			p.Reject(bindingError(api, err))
			return
		}
		if v == nil {
			p.Resolve(nil)
			return
		}
		var meta any
		if v.Metadata != nil {
			meta = string(v.Metadata)
		}
		var value any
		switch mode {
		case kvGetText:
			value = decodeUTF8(v.Value)
		case kvGetStream:
			rid, ok := h.addResourceFor(&bodyResource{r: io.NopCloser(bytes.NewReader(v.Value))}, gen)
			if !ok {
				p.Reject(engine.DOMException("AbortError", "%s: the invocation ended", api))
				return
			}
			value = rid
		default:
			value = v.Value
		}
		p.Resolve([]any{value, meta, v.Expiration})
	}()
	return nil
}

// op_kv_put(binding, key, value, expirationTtl, expiration, metadataJSON)
// stores a value: a string, bytes, or the id of a body resource to read
// (at most 25 MiB; the resource is closed). expirationTtl (seconds) and
// expiration (unix seconds) are numbers or null, metadataJSON a string or
// null. It resolves to undefined once the store has the value.
func opKVPut(c *engine.Call) error {
	const api = "KV.put"
	h := host(c)
	kv, err := h.kv(c.String(0), api)
	if err != nil {
		return err
	}
	key := c.String(1)
	var value []byte
	var res *bodyResource
	rid := -1
	arg := c.Arg(2)
	switch {
	case arg.IsString():
		value = []byte(toUSV(c.String(2)))
	case arg.IsObject():
		b, ok := c.Bytes(2)
		if !ok {
			return engine.TypeError("%s: value is not a string or bytes", api)
		}
		value = b
	default:
		rid = int(c.Int(2))
		if res, err = h.takeResource(rid, api); err != nil {
			return err
		}
	}
	var opts binding.KVPutOptions
	if !c.IsNullish(3) {
		ttl := c.Float(3)
		if math.IsNaN(ttl) || ttl < binding.KVMinTTLSeconds || ttl > math.MaxInt32 {
			return engine.TypeError("%s: expirationTtl %v must be a number of seconds, at least %d", api, ttl, binding.KVMinTTLSeconds)
		}
		opts.TTL = time.Duration(math.Ceil(ttl)) * time.Second
	}
	if !c.IsNullish(4) {
		exp := c.Float(4)
		if math.IsNaN(exp) || math.IsInf(exp, 0) || exp <= 0 || exp > 1e11 {
			return engine.TypeError("%s: expiration %v must be a time in seconds since the epoch", api, exp)
		}
		opts.Expiration = time.Unix(int64(math.Ceil(exp)), 0)
	}
	if !c.IsNullish(5) {
		opts.Metadata = []byte(c.String(5))
	}
	p, err := c.Promise()
	if err != nil {
		if res != nil {
			res.busy.Store(false)
		}
		return err
	}
	go func() {
		if res != nil {
			b, err := io.ReadAll(io.LimitReader(res.r, binding.KVMaxValueBytes+1))
			res.busy.Store(false)
			h.closeResource(rid)
			if err != nil {
				p.Reject(bodyError(api, err))
				return
			}
			if len(b) > binding.KVMaxValueBytes {
				p.Reject(engine.TypeError("%s: value of more than %s is over the %s limit", api,
					binding.FormatSize(binding.KVMaxValueBytes), binding.FormatSize(binding.KVMaxValueBytes)))
				return
			}
			value = b
		}
		ctx, cancel := context.WithTimeout(context.Background(), kvTimeout)
		defer cancel()
		if err := kv.Put(ctx, key, value, opts); err != nil {
			p.Reject(bindingError(api, err))
			return
		}
		p.Resolve(engine.Undefined{})
	}()
	return nil
}

// op_kv_delete(binding, key) resolves to undefined once the key is gone
// (also when it never existed).
func opKVDelete(c *engine.Call) error {
	const api = "KV.delete"
	kv, err := host(c).kv(c.String(0), api)
	if err != nil {
		return err
	}
	key := c.String(1)
	return storeCall(c, api, kvTimeout, func(ctx context.Context) (any, error) {
		return engine.Undefined{}, kv.Delete(ctx, key)
	})
}

// kvListJSON is what op_kv_list resolves to, in Workers' shape.
type kvListJSON struct {
	Keys     []kvKeyJSON `json:"keys"`
	Complete bool        `json:"list_complete"`
	Cursor   string      `json:"cursor,omitempty"`
}

type kvKeyJSON struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// op_kv_list(binding, prefix, cursor, limit) resolves to one page of keys:
// {keys: [{name, expiration?, metadata?}], list_complete, cursor?}. limit 0
// means the maximum, 1000.
func opKVList(c *engine.Call) error {
	const api = "KV.list"
	kv, err := host(c).kv(c.String(0), api)
	if err != nil {
		return err
	}
	opts := binding.KVListOptions{Prefix: c.String(1), Cursor: c.String(2), Limit: int(c.Int(3))}
	return storeCall(c, api, kvTimeout, func(ctx context.Context) (any, error) {
		l, err := kv.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		out := kvListJSON{Keys: make([]kvKeyJSON, len(l.Keys)), Complete: l.Complete, Cursor: l.Cursor}
		for i, k := range l.Keys {
			out.Keys[i] = kvKeyJSON{Name: k.Name, Expiration: k.Expiration, Metadata: k.Metadata}
		}
		b, err := json.Marshal(out)
		return engine.JSON(b), err
	})
}

// storeCall settles the op's promise with fn's result, run against the
// store on its own goroutine within timeout; an error rejects it as a
// binding error naming api.
func storeCall(c *engine.Call, api string, timeout time.Duration, fn func(ctx context.Context) (any, error)) error {
	p, err := c.Promise()
	if err != nil {
		return err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		v, err := fn(ctx)
		if err != nil {
			p.Reject(bindingError(api, err))
			return
		}
		p.Resolve(v)
	}()
	return nil
}
