package webapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/engine"
)

// The ops of service bindings (js/33_service.js): a call to another app,
// by fetch or RPC, through the binding.Service of env.NAME. Each call is a
// subrequest of the caller and sits in the fetch table while it runs, so
// ResetInvocation cancels it with the caller's invocation and a streamed
// request body goes through op_fetch_body_write like a fetch's.
func serviceOps() []engine.Op {
	return []engine.Op{
		{Name: "op_service_fetch_start", Fn: opServiceFetchStart},
		{Name: "op_service_fetch_send", Fn: opServiceFetchSend},
		{Name: "op_service_call", Fn: opServiceCall},
	}
}

// MaxRPCPayload is the most bytes the serialised arguments of one RPC call
// may take (Workers allows 32 MiB too).
const MaxRPCPayload = 32 << 20

// serviceState holds the service fetches between op_service_fetch_start
// and op_service_fetch_send.
type serviceState struct {
	mu      sync.Mutex
	pending map[int]*serviceFetch
}

// serviceFetch is one request for another app's fetch handler.
type serviceFetch struct {
	name string
	svc  binding.Service
	req  *binding.ServiceRequest
	ctx  context.Context
	gen  uint64
}

// service returns the service bound to env.name.
func (h *Host) service(name, api string) (binding.Service, error) {
	var svc binding.Service
	if h.Bindings != nil {
		svc = h.Bindings.Services[name]
	}
	if svc == nil {
		return nil, engine.TypeError("%s: env.%s is not a service binding", api, name)
	}
	return svc, nil
}

// addSubrequest counts one outbound call against the caller's subrequest
// limit (shared with fetch). VM goroutine only.
func (h *Host) addSubrequest(api string) error {
	limit := h.MaxSubrequests
	if limit <= 0 {
		limit = DefaultMaxSubrequests
	}
	if h.io.subrequests >= limit {
		return engine.TypeError("%s: too many subrequests (limit %d)", api, limit)
	}
	h.io.subrequests++
	return nil
}

// registerCall puts a call in the fetch table under a new id, so that
// op_fetch_cancel and ResetInvocation cancel it and op_fetch_body_write
// writes its streamed body (pw, may be nil).
func (h *Host) registerCall(cancel context.CancelFunc, pw *io.PipeWriter) (id int, gen uint64) {
	s := &h.io
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetches == nil {
		s.fetches = make(map[int]*fetchCall)
	}
	s.nextID++
	gen = s.gen.Load()
	s.fetches[s.nextID] = &fetchCall{cancel: cancel, gen: gen, body: pw}
	return s.nextID, gen
}

// op_service_fetch_start(name, method, url, headersFlat, body) checks a
// request for env[name]'s fetch handler and returns the id
// op_service_fetch_send takes. body is as op_fetch_start's: null, a string,
// bytes, the id of a body resource (ownership passes to the call), or -1
// for a body JS streams with op_fetch_body_write and op_fetch_body_close.
func opServiceFetchStart(c *engine.Call) error {
	h := host(c)
	name := c.String(0)
	api := "env." + name + ".fetch()"
	svc, err := h.service(name, api)
	if err != nil {
		return err
	}
	method, rawURL, headers := c.String(1), c.String(2), c.String(3)
	if err := HeaderLines(headers).Validate(); err != nil {
		return engine.TypeError("%s: %v", api, err)
	}
	if err := h.addSubrequest(api); err != nil {
		return err
	}
	s := &h.io
	counted := func(r io.Reader, close func() error) io.ReadCloser {
		return &countingBody{r: r, n: &s.bytesOut, close: close}
	}
	noClose := func() error { return nil }
	var body io.ReadCloser
	var pw *io.PipeWriter
	arg := c.Arg(4)
	switch {
	case arg.IsNull() || arg.IsUndefined():
	case arg.IsString():
		body = counted(strings.NewReader(toUSV(c.String(4))), noClose)
	case arg.IsObject():
		b, ok := c.Bytes(4)
		if !ok {
			return engine.TypeError("%s: request body is not bytes", api)
		}
		body = counted(bytes.NewReader(b), noClose)
	case c.Int(4) < 0:
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		body = counted(pr, pr.Close)
	default:
		rid := int(c.Int(4))
		res, err := h.takeResource(rid, api)
		if err != nil {
			return err
		}
		body = counted(res.r, func() error {
			res.busy.Store(false)
			h.closeResource(rid)
			return nil
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	id, gen := h.registerCall(cancel, pw)
	req := &binding.ServiceRequest{Method: method, URL: rawURL, Headers: headers, Body: body}
	h.svc.mu.Lock()
	if h.svc.pending == nil {
		h.svc.pending = make(map[int]*serviceFetch)
	}
	for pid, f := range h.svc.pending {
		if f.gen != gen { // left by an invocation that ended before sending
			delete(h.svc.pending, pid)
		}
	}
	h.svc.pending[id] = &serviceFetch{name: name, svc: svc, req: req, ctx: ctx, gen: gen}
	h.svc.mu.Unlock()
	return c.Return(id)
}

// op_service_fetch_send(id) runs the request and resolves to [true, status,
// statusText, headersFlat, bodyRid] (bodyRid -1 when the response has no
// body) or to [false, name, message, reason] when the call failed.
func opServiceFetchSend(c *engine.Call) error {
	h := host(c)
	id := int(c.Int(0))
	h.svc.mu.Lock()
	f := h.svc.pending[id]
	delete(h.svc.pending, id)
	h.svc.mu.Unlock()
	if f == nil {
		return engine.TypeError("env fetch: no service request %d to send", id)
	}
	p, err := c.Promise()
	if err != nil {
		h.dropFetch(id)
		return err
	}
	s := &h.io
	go func() {
		api := "env." + f.name + ".fetch()"
		resp, err := f.svc.Fetch(f.ctx, f.req)
		if err != nil {
			if f.ctx.Err() != nil {
				err = engine.DOMException("AbortError", "%s: the operation was aborted", api)
			}
			h.dropFetch(id)
			p.Resolve(serviceFailure(api, err))
			return
		}
		rid := -1
		if f.req.Method == http.MethodHead || nullBodyStatus(resp.Status) || resp.Body == nil {
			if resp.Body != nil {
				resp.Body.Close()
			}
			h.dropFetch(id)
		} else {
			res := &bodyResource{r: &serviceBody{r: resp.Body, n: &s.bytesIn}, onClose: func() { h.dropFetch(id) }}
			s.mu.Lock()
			if s.gen.Load() != f.gen {
				s.mu.Unlock()
				res.close()
				p.Resolve(serviceFailure(api, engine.DOMException("AbortError", "%s: the invocation ended", api)))
				return
			}
			if s.resources == nil {
				s.resources = make(map[int]*bodyResource)
			}
			s.nextID++
			rid = s.nextID
			s.resources[rid] = res
			s.mu.Unlock()
		}
		p.Resolve([]any{true, resp.Status, http.StatusText(resp.Status), resp.Headers, rid})
	}()
	return nil
}

// op_service_call(name, method, payload) calls method of env[name]'s
// entrypoint with the serialised arguments and resolves to [true,
// serialised result] or to [false, name, message, reason].
func opServiceCall(c *engine.Call) error {
	h := host(c)
	name, method := c.String(0), c.String(1)
	api := fmt.Sprintf("env.%s.%s()", name, method)
	svc, err := h.service(name, api)
	if err != nil {
		return err
	}
	payload := c.String(2)
	if len(payload) > MaxRPCPayload {
		return engine.RangeError("%s: the arguments take %d bytes serialised, over the limit of %d", api, len(payload), MaxRPCPayload)
	}
	if err := h.addSubrequest(api); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	id, gen := h.registerCall(cancel, nil)
	p, err := c.Promise()
	if err != nil {
		h.dropFetch(id)
		return err
	}
	go func() {
		out, err := svc.Call(ctx, method, []byte(payload))
		aborted := ctx.Err() != nil
		h.dropFetch(id)
		switch {
		case h.io.gen.Load() != gen || aborted:
			p.Resolve(serviceFailure(api, engine.DOMException("AbortError", "%s: the invocation ended", api)))
		case err != nil:
			p.Resolve(serviceFailure(api, err))
		default:
			p.Resolve([]any{true, string(out)})
		}
	}()
	return nil
}

// serviceFailure describes a failed call as [false, name, message,
// reason] for remoteError in 33_service.js: an exception of the called
// app keeps its name and message; a platform failure becomes an Error
// naming the call, with the reason.
func serviceFailure(api string, err error) []any {
	var exc *engine.Exception
	var se *binding.ServiceError
	var le *engine.LimitError
	var je *engine.JSError
	switch {
	case errors.As(err, &exc):
		return []any{false, exc.Name, exc.Message, ""}
	case errors.As(err, &se):
		return []any{false, "Error", api + ": " + se.Error(), se.Reason}
	case errors.As(err, &le):
		return []any{false, "Error", api + ": " + le.Error(), le.Kind.String()}
	case errors.As(err, &je):
		name := je.Name
		if name == "" {
			name = je.Class
		}
		return []any{false, name, je.Message, ""}
	}
	return []any{false, "Error", api + ": " + err.Error(), "internal"}
}

// serviceBody is the body of a response from another app, as a body
// resource: it counts the bytes read and passes a whole body the callee
// sent at once through without a goroutine (BufferedBody).
type serviceBody struct {
	r io.ReadCloser
	n *atomic.Int64
}

func (b *serviceBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *serviceBody) Close() error { return b.r.Close() }

func (b *serviceBody) Buffered() ([]byte, bool) {
	bb, ok := b.r.(BufferedBody)
	if !ok {
		return nil, false
	}
	p, ok := bb.Buffered()
	if ok {
		b.n.Add(int64(len(p)))
	}
	return p, ok
}

var (
	_ BufferedBody  = (*serviceBody)(nil)
	_ io.ReadCloser = (*serviceBody)(nil)
)
