package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/engine"
	"github.com/kumo-dev/kumo/internal/webapi"
)

// Service calls: another app's request (a service binding's fetch) or RPC
// call, run in process on this pool with the pool's own limits, instances
// and usage accounting. The exchange is in memory: the request body
// streams in from the caller and the response body streams back through a
// pipe, so neither is ever held whole.

// ServeService runs the version's fetch handler for a request from
// another app. It returns once the response head is decided; a streamed
// body follows through the response's Body, and the rest of the
// invocation (the body, waitUntil work) goes on in the background. A
// failure before the head comes back as the error: *engine.Exception for
// an exception of the handler, *binding.ServiceError for a limit or a
// refusal (overload, a body over the limit).
//
// ctx bounds the call until its response is complete: cancelling it then
// cancels the invocation; afterwards only the pool's limits bound the
// waitUntil work.
func (p *Pool) ServeService(ctx context.Context, req *binding.ServiceRequest) (*binding.ServiceResponse, error) {
	c, detach, cancel := serviceContext(ctx)
	x := &serviceExchange{p: p, req: req, c: c, detach: detach, head: make(chan *binding.ServiceResponse, 1),
		limit: p.v.limits.ResponseBody}
	if req.Body != nil {
		x.in = &countingBody{r: &limitedBody{r: req.Body, limit: p.v.limits.RequestBody}}
	}
	path := "/"
	if u, err := url.Parse(req.URL); err == nil && u.Path != "" {
		path = u.Path
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		// The exchange never detaches: this goroutine is the invocation's.
		p.run(x, req.Method, path, "fetch", nil)
		if req.Body != nil {
			req.Body.Close() // unread when the invocation never started
		}
	}()
	select {
	case resp := <-x.head:
		return resp, nil
	case <-done:
		select {
		case resp := <-x.head:
			return resp, nil
		default:
		}
		if x.err != nil {
			return nil, x.err
		}
		return nil, &binding.ServiceError{App: p.v.App, Reason: string(OutcomeNoHandler), Msg: "the fetch handler sent no response"}
	case <-ctx.Done():
		// The invocation sees c cancelled and ends on its own; a head it
		// sends meanwhile finds nobody and its body pipe closed.
		x.abandon()
		return nil, fmt.Errorf("calling app %q: %w", p.v.App, ctx.Err())
	}
}

// CallService calls method of the version's RPC entrypoint (the exported
// WorkerEntrypoint class named entrypoint, "" for the default export) with
// args, a structured serialisation of the argument array, and returns the
// serialised result. It returns as soon as the method's promise fulfils;
// waitUntil work goes on in the background. Failures are typed as for
// ServeService.
func (p *Pool) CallService(ctx context.Context, entrypoint, method string, args []byte) ([]byte, error) {
	c, detach, cancel := serviceContext(ctx)
	x := &serviceExchange{p: p, c: c, detach: detach}
	iv := &invocation{p: p, x: x}
	result := make(chan string, 1)
	iv.onResult = func(s string) {
		detach()
		result <- s
	}
	iv.call = func(inst *instance) (engine.Value, error) {
		fn := inst.entry.Get("rpc")
		defer fn.Free()
		if !fn.IsFunction() {
			return engine.Value{}, errors.New("the runtime has no \"rpc\" entry")
		}
		return fn.Call(inst.entry, entrypoint, method, string(args), iv.u.RequestID)
	}
	iv.u = Usage{App: p.v.App, Version: p.v.ID, Handler: "rpc", Start: time.Now(), RequestID: p.rt.newRequestID(),
		Path: method}
	p.requests.Add(1)
	iv.done = make(chan struct{})
	go func() {
		defer cancel()
		iv.start() // never detaches: the exchange says so
	}()
	select {
	case s := <-result:
		return []byte(s), nil
	case <-iv.done:
		select {
		case s := <-result:
			return []byte(s), nil
		default:
		}
		if x.err != nil {
			return nil, x.err
		}
		return nil, &binding.ServiceError{App: p.v.App, Reason: string(OutcomeNoHandler), Msg: "the method returned no result"}
	}
}

// serviceContext returns the context of a service invocation: cancelled
// with parent until detach is called (the response is complete), and by
// cancel in any case.
func serviceContext(parent context.Context) (ctx context.Context, detach func(), cancel context.CancelFunc) {
	ctx, cancel = context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, cancel)
	return ctx, func() { stop() }, cancel
}

// serviceExchange is the in-memory exchange of a service call. For an RPC
// call req is nil and there is no HTTP response.
type serviceExchange struct {
	p      *Pool
	req    *binding.ServiceRequest
	c      context.Context
	detach func()
	requestBody
	limit int64
	// head receives the response once its head is decided.
	head chan *binding.ServiceResponse
	// err is the typed failure, set on the invocation's goroutine before
	// it ends.
	err error

	started bool
	status  int
	written atomic.Int64

	mu        sync.Mutex
	pipe      *io.PipeWriter
	stopPipe  func() bool // stops closing the pipe when c is cancelled
	abandoned bool
}

func (x *serviceExchange) request() (string, string, string) {
	if x.req == nil {
		return "", "", ""
	}
	return x.req.Method, x.req.URL, x.req.Headers
}

// contentLength is unknown in advance; limitedBody enforces the limit
// while the handler reads.
func (x *serviceExchange) contentLength() int64 { return 0 }

func (x *serviceExchange) ctx() context.Context { return x.c }

// detachable: ServeService and CallService run the invocation on a
// goroutine of its own already.
func (x *serviceExchange) detachable() bool { return false }

func (x *serviceExchange) sent() (bool, int, int64) { return x.started, x.status, x.written.Load() }

// setError keeps the failure of the invocation in the form the caller's
// ops turn into a JS error (see webapi's serviceFailure).
func (x *serviceExchange) setError(err error) {
	if x.err != nil {
		return
	}
	var exc *engine.Exception
	if errors.As(err, &exc) {
		x.err = exc
		return
	}
	msg := err.Error()
	var le *engine.LimitError
	if errors.As(err, &le) {
		msg = limitMessage(le.Kind)
	}
	x.err = &binding.ServiceError{App: x.p.v.App, Reason: string(outcomeOf(err)), Msg: msg, Err: err}
}

// platformError records a refusal (overload, a body over the limit) or a
// failure setError did not see.
func (x *serviceExchange) platformError(status int, reason, msg string) {
	if x.err == nil {
		x.err = &binding.ServiceError{App: x.p.v.App, Reason: reason, Msg: strings.TrimSpace(msg)}
	}
}

func (x *serviceExchange) Start(status int, headers webapi.HeaderLines, body []byte, streamed bool) error {
	if x.req == nil {
		return errors.New("an RPC call has no HTTP response")
	}
	if x.started {
		return errors.New("response already sent")
	}
	if err := checkResponseSize(x.limit, 0, len(body)); err != nil {
		return err
	}
	resp := &binding.ServiceResponse{Status: status, Headers: string(headers)}
	x.mu.Lock()
	if x.abandoned {
		x.mu.Unlock()
		return errors.New("the calling app is gone")
	}
	if streamed {
		pr, pw := io.Pipe()
		x.pipe = pw
		// A caller that goes away before the body is complete stops the
		// writes, which would otherwise wait for a reader forever.
		x.stopPipe = context.AfterFunc(x.c, func() { pr.CloseWithError(errors.New("the call was cancelled")) })
		resp.Body = pr
	} else {
		resp.Body = &wholeBody{b: body}
		x.written.Store(int64(len(body)))
		x.detach()
	}
	x.mu.Unlock()
	x.started, x.status = true, status
	x.head <- resp
	return nil
}

func (x *serviceExchange) Write(p []byte) error {
	if err := checkResponseSize(x.limit, x.written.Load(), len(p)); err != nil {
		return err
	}
	n, err := x.pipe.Write(p)
	x.written.Add(int64(n))
	return err
}

func (x *serviceExchange) End() error {
	x.mu.Lock()
	pw, stop := x.pipe, x.stopPipe
	x.mu.Unlock()
	x.detach()
	if pw == nil {
		return nil
	}
	stop()
	return pw.Close()
}

func (x *serviceExchange) abort() {
	x.mu.Lock()
	pw := x.pipe
	x.mu.Unlock()
	if pw != nil {
		pw.CloseWithError(errors.New("the called app's response was cut off"))
	}
}

// abandon is ServeService giving up before the head: a head sent later is
// refused, one already sent has its body closed.
func (x *serviceExchange) abandon() {
	x.mu.Lock()
	x.abandoned = true
	x.mu.Unlock()
	select {
	case resp := <-x.head:
		resp.Body.Close()
	default:
	}
}

// limitedBody fails a request body that grows over limit bytes.
type limitedBody struct {
	r     io.ReadCloser
	limit int64
	read  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	// Reading at most one byte past the limit tells an over-long body from
	// one of exactly limit bytes.
	if rest := b.limit - b.read + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		return 0, fmt.Errorf("request body is over the limit of %d bytes", b.limit)
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }

// wholeBody is a response body the callee sent at once; the caller reads it
// without a goroutine (webapi.BufferedBody).
type wholeBody struct {
	mu sync.Mutex
	b  []byte
}

func (w *wholeBody) Read(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, w.b)
	w.b = w.b[n:]
	return n, nil
}

func (w *wholeBody) Close() error { return nil }

func (w *wholeBody) Buffered() ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.b
	w.b = nil
	return b, true
}

var (
	_ exchange            = (*serviceExchange)(nil)
	_ webapi.BufferedBody = (*wholeBody)(nil)
	_ io.ReadCloser       = (*limitedBody)(nil)
)
