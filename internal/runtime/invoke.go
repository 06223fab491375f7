package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kumo-dev/kumo/internal/engine"
	"github.com/kumo-dev/kumo/internal/webapi"
)

// ErrorHeader carries the typed reason of a platform error response.
const ErrorHeader = "Kumo-Error"

var errNoResponse = errors.New("the handler's promise never settled, so no response was sent")

// exchange is one HTTP request and its response, whatever the HTTP server
// library: the runtime reads the request through it and JavaScript writes
// the response through it (it is the invocation's webapi.ResponseSink).
type exchange interface {
	webapi.ResponseSink
	request() (method, url, headersFlat string)
	// body returns the request body, nil when there is none.
	body() io.ReadCloser
	contentLength() int64
	// bodyRead is how many request body bytes the handler read.
	bodyRead() int64
	ctx() context.Context
	sent() (started bool, status int, written int64)
	// platformError answers with a Kumo error before any response started.
	platformError(status int, reason, msg string)
	// detachable reports whether the rest of the invocation must leave the
	// server's handler goroutine now: the head of the response is decided
	// and the server writes it (and a streamed body) after its handler
	// returns.
	detachable() bool
	// abort cuts the connection of a response that failed after its head
	// was sent.
	abort()
}

// invocation is one run of a fetch handler. It may start on the server's
// handler goroutine and finish on another (see exchange.detachable).
type invocation struct {
	p *Pool
	x exchange
	// call starts the handler; nil means the fetch handler with x's request.
	call     func(inst *instance) (engine.Value, error)
	result   string // the fulfilled value of a non-HTTP handler, as a string
	u        Usage
	inst     *instance
	wall     lazyDeadline
	promise  engine.Value
	phase    int // 0: fetch promise, 1: waitUntil promise
	discard  bool
	detached bool
	done     chan struct{} // Invoke's: closed by record, the end of every path
	// onResult, when set, gets result as soon as the handler's promise
	// fulfils, before waitUntil work (service.go: an RPC answers then).
	onResult func(result string)
}

// errDetach stops the event loop so the invocation can move off the
// server's handler goroutine.
var errDetach = errors.New("detach")

// serveExchange runs the fetch handler for x. It returns a function to run
// on a new goroutine when the invocation detached, or nil when it is done.
func (p *Pool) serveExchange(x exchange, method, path string) (rest func()) {
	return p.run(x, method, path, "fetch", nil)
}

// run starts an invocation and returns what is left of it to run on a new
// goroutine when it detached.
func (p *Pool) run(x exchange, method, path, handler string, call func(*instance) (engine.Value, error)) (rest func()) {
	iv := &invocation{p: p, x: x, call: call}
	iv.u = Usage{App: p.v.App, Version: p.v.ID, Handler: handler, Start: time.Now(), RequestID: p.rt.newRequestID(),
		Method: method, Path: path}
	p.requests.Add(1)
	if iv.start() {
		return iv.resume
	}
	return nil
}

// Invoke runs handler (an entry function of 90_dispatch.js such as
// "scheduled" or "queue") with args under the version's limits, waits for
// its promise and its waitUntil work, and returns the fulfilled value as a
// string. A failure comes back as the error, typed as for HTTP (e.g.
// *engine.LimitError).
func (p *Pool) Invoke(ctx context.Context, handler string, args ...any) (string, Usage, error) {
	x := &callExchange{c: ctx}
	iv := &invocation{p: p, x: x}
	iv.call = func(inst *instance) (engine.Value, error) {
		fn := inst.entry.Get(handler)
		defer fn.Free()
		if !fn.IsFunction() {
			return engine.Value{}, fmt.Errorf("the runtime has no %q entry", handler)
		}
		return fn.Call(inst.entry, append(args, iv.u.RequestID)...)
	}
	iv.u = Usage{App: p.v.App, Version: p.v.ID, Handler: handler, Start: time.Now(), RequestID: p.rt.newRequestID()}
	p.requests.Add(1)
	iv.done = make(chan struct{})
	if iv.start() {
		iv.resume()
	}
	<-iv.done
	return iv.result, iv.u, x.err
}

// callExchange is the exchange of a non-HTTP invocation: no request, and a
// failure becomes the error Invoke returns.
type callExchange struct {
	c   context.Context
	err error
}

func (x *callExchange) request() (string, string, string) { return "", "", "" }
func (x *callExchange) body() io.ReadCloser               { return nil }
func (x *callExchange) contentLength() int64              { return 0 }
func (x *callExchange) bodyRead() int64                   { return 0 }
func (x *callExchange) ctx() context.Context              { return x.c }
func (x *callExchange) sent() (bool, int, int64)          { return false, 0, 0 }
func (x *callExchange) detachable() bool                  { return false }
func (x *callExchange) abort()                            {}
func (x *callExchange) Write([]byte) error                { return errors.New("no HTTP response in this invocation") }
func (x *callExchange) End() error                        { return nil }
func (x *callExchange) Start(int, webapi.HeaderLines, []byte, bool) error {
	return errors.New("no HTTP response in this invocation")
}
func (x *callExchange) platformError(status int, reason, msg string) {
	if x.err == nil { // overload and body-size refusals
		x.err = fmt.Errorf("%s: %s", reason, strings.TrimSpace(msg))
	}
}

var _ exchange = (*callExchange)(nil)

// start acquires an instance and dispatches; it reports whether the
// invocation detached.
func (iv *invocation) start() (detached bool) {
	p, x, u := iv.p, iv.x, &iv.u
	limits := &p.v.limits
	if n := x.contentLength(); n > limits.RequestBody {
		u.Outcome = OutcomeTooLarge
		iv.platformError(http.StatusRequestEntityTooLarge, string(OutcomeTooLarge),
			fmt.Sprintf("request body of %d bytes is over the limit of %d", n, limits.RequestBody))
		iv.record()
		return false
	}
	// The wall-time context is made only when the handler has to wait: a
	// handler that answers synchronously never needs its timer.
	iv.wall = lazyDeadline{parent: x.ctx(), d: limits.Wall}
	inst, cold, err := p.acquire(x.ctx(), &iv.wall)
	u.ColdStart = cold
	if err != nil {
		if errors.Is(err, errOverloaded) {
			u.Outcome = OutcomeOverload
			iv.platformError(http.StatusServiceUnavailable, string(OutcomeOverload), "all instances of this app are busy")
		} else {
			iv.fail(err)
		}
		iv.wall.cancel()
		iv.record()
		return false
	}
	iv.inst = inst
	vm, h := inst.vm, inst.host
	inst.requestID = u.RequestID
	// The previous invocation's finish (or the instance's start) reset
	// the host, so it holds nothing of another request.
	h.Sink = x
	rid := -1
	if b := x.body(); b != nil {
		rid = h.AddBody(b)
	}
	vm.SetCPUBudget(limits.CPU)
	var res engine.Value
	if iv.call != nil {
		res, err = iv.call(inst)
	} else {
		method, url, headers := x.request()
		res, err = inst.fetch.Call(inst.entry, method, url, headers, rid)
	}
	if err != nil {
		iv.finish(err)
		return false
	}
	iv.promise = res
	return iv.loop()
}

// resume continues a detached invocation on its own goroutine.
func (iv *invocation) resume() {
	iv.detached = true
	if iv.loop() {
		panic("runtime: invocation detached twice")
	}
}

// loop runs the event loop through the fetch promise and then the
// waitUntil promise; it reports whether it stopped to detach.
func (iv *invocation) loop() (detached bool) {
	for {
		err := iv.settle()
		if errors.Is(err, errDetach) {
			return true
		}
		if err == nil && iv.phase == 0 && iv.call != nil {
			r := iv.promise.PromiseResult()
			if iv.promise.PromiseState() == engine.NotAPromise {
				r = iv.promise.Dup()
			}
			iv.result = r.String()
			r.Free()
			if iv.onResult != nil {
				iv.onResult(iv.result)
			}
		}
		iv.promise.Free()
		iv.promise = engine.Value{}
		if err != nil || iv.phase == 1 {
			iv.finish(err)
			return false
		}
		if started, _, _ := iv.x.sent(); !started && iv.call == nil {
			iv.finish(nil)
			return false
		}
		// The response is out; background work registered with
		// ctx.waitUntil may still run within the wall limit.
		iv.phase = 1
		wu, err := iv.inst.waitUntil.Call(iv.inst.entry)
		if err != nil {
			iv.finish(err)
			return false
		}
		iv.promise = wu
	}
}

// settle runs the event loop until the current promise settles, the wall
// deadline passes, nothing is left that could settle it, or the exchange
// asks to detach.
func (iv *invocation) settle() error {
	vm := iv.inst.vm
	for {
		if err := vm.RunJobs(); err != nil {
			return err
		}
		switch iv.promise.PromiseState() {
		case engine.PromiseFulfilled, engine.NotAPromise:
			return nil
		case engine.PromiseRejected:
			reason := iv.promise.PromiseResult()
			defer reason.Free()
			return reason.AsError()
		}
		if !iv.detached && iv.x.detachable() {
			return errDetach
		}
		done := iv.wall.done()
		select {
		case <-done:
			// Checked only while the promise is pending: a client that
			// hangs up right after a complete response is no failure.
			return wallError(iv.wall.ctx)
		default:
		}
		if err := vm.Wait(done); err != nil {
			if errors.Is(err, engine.ErrIdle) {
				return errNoResponse
			}
			return err
		}
	}
}

// finish meters the invocation, answers a failure and returns the instance.
func (iv *invocation) finish(err error) {
	inst, u := iv.inst, &iv.u
	vm := inst.vm
	u.CPU = vm.CPUUsed()
	used, limit := vm.MemoryUsage()
	u.MemoryPeak = used
	u.BytesIn = iv.x.bodyRead()
	started, status, written := iv.x.sent()
	u.Status, u.BytesOut = status, written
	inst.host.ResetInvocation()
	// Timers do not outlive their invocation (as in Workers): a timer left
	// running would fire into the next request.
	inst.host.StopTimers()
	ctx := iv.wall.ctx
	abort := false
	if err != nil {
		if errors.Is(err, errNoResponse) || ctx != nil && ctx.Err() != nil {
			// Work is still pending inside the VM; it cannot be reused.
			iv.discard = true
			if ctx != nil && ctx.Err() != nil {
				err = wallError(ctx)
			}
		}
		var le *engine.LimitError
		if errors.As(err, &le) {
			iv.discard = true
		}
		if started {
			u.Outcome, u.Error = outcomeOf(err), err.Error()
			iv.p.logFailure(u, err)
			abort = true
		} else {
			iv.fail(iv.p.mapError(err))
		}
	} else {
		u.Outcome = OutcomeOK
		if limit > 0 && used > limit/10*9 {
			// Nearly full heaps fail the next request in odd places; start
			// fresh instead.
			iv.discard = true
		}
	}
	iv.wall.cancel()
	iv.p.release(inst, iv.discard)
	iv.record()
	if abort {
		// The status line is out; cutting the connection is the only way
		// left to tell the client the body is incomplete.
		iv.x.abort()
	}
}

// record meters the invocation; it is the last thing every path does.
func (iv *invocation) record() {
	iv.u.Wall = time.Since(iv.u.Start)
	if rec := iv.p.rt.cfg.Recorder; rec != nil {
		rec.Record(&iv.u)
	}
	if iv.done != nil {
		close(iv.done)
	}
}

// fail answers an invocation that ended without a response.
func (iv *invocation) fail(err error) {
	p, u := iv.p, &iv.u
	if ce, ok := iv.x.(*callExchange); ok {
		ce.err = err // Invoke returns the typed error itself
	}
	if sx, ok := iv.x.(*serviceExchange); ok {
		sx.setError(err) // ServeService and CallService return it typed (service.go)
	}
	u.Outcome, u.Error = outcomeOf(err), err.Error()
	p.logFailure(u, err)
	var le *engine.LimitError
	switch {
	case errors.As(err, &le):
		iv.platformError(http.StatusServiceUnavailable, le.Kind.String(), limitMessage(le.Kind))
	case u.Outcome == OutcomeNoHandler:
		iv.platformError(http.StatusInternalServerError, string(OutcomeNoHandler), err.Error())
	default:
		body := "Internal Server Error\n"
		if p.rt.cfg.ExposeErrors {
			body = errorText(err)
		}
		iv.platformError(http.StatusInternalServerError, "exception", body)
	}
}

func (iv *invocation) platformError(status int, reason, msg string) {
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	iv.x.platformError(status, reason, msg)
	iv.u.Status = status
	iv.u.BytesOut += int64(len(msg))
}

// lazyDeadline is the invocation's wall-time limit, turned into a context
// (and its timer) on first use.
type lazyDeadline struct {
	parent context.Context
	d      time.Duration
	ctx    context.Context
	stop   context.CancelFunc
}

func (l *lazyDeadline) done() <-chan struct{} {
	if l.ctx == nil {
		l.ctx, l.stop = context.WithTimeout(l.parent, l.d)
	}
	return l.ctx.Done()
}

func (l *lazyDeadline) cancel() {
	if l.stop != nil {
		l.stop()
	}
}

func wallError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &engine.LimitError{Kind: engine.LimitWall}
	}
	return &engine.LimitError{Kind: engine.LimitCanceled}
}

func outcomeOf(err error) Outcome {
	var le *engine.LimitError
	if errors.As(err, &le) {
		switch le.Kind {
		case engine.LimitCPU:
			return OutcomeCPU
		case engine.LimitMemory:
			return OutcomeMemory
		case engine.LimitStack:
			return OutcomeStack
		case engine.LimitWall:
			return OutcomeTimeout
		case engine.LimitCanceled:
			return OutcomeCanceled
		}
	}
	if errors.Is(err, errNoResponse) {
		return OutcomeNoHandler
	}
	return OutcomeException
}

func limitMessage(k engine.LimitKind) string {
	switch k {
	case engine.LimitCPU:
		return "the script exceeded its CPU time limit"
	case engine.LimitMemory:
		return "the script exceeded its memory limit"
	case engine.LimitStack:
		return "the script exceeded its call stack depth"
	case engine.LimitWall:
		return "the script exceeded its time limit"
	}
	return "the invocation was canceled"
}

func errorText(err error) string {
	var exc *engine.Exception
	if errors.As(err, &exc) {
		s := exc.Error() + "\n"
		if exc.Stack != "" {
			s += exc.Stack
			if !strings.HasSuffix(s, "\n") {
				s += "\n"
			}
		}
		return s
	}
	return err.Error() + "\n"
}

func (p *Pool) logFailure(u *Usage, err error) {
	p.rt.log.Warn("invocation failed", "app", u.App, "version", u.Version, "request_id", u.RequestID,
		"outcome", string(u.Outcome), "err", errorText(p.mapError(err)))
}

// appendLower appends s lowercased to b; header names are ASCII.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// countingBody counts the bytes a handler reads from a request body.
type countingBody struct {
	r io.ReadCloser
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.r.Close() }

// Buffered passes webapi.BufferedBody through, counting the bytes.
func (c *countingBody) Buffered() ([]byte, bool) {
	bb, ok := c.r.(webapi.BufferedBody)
	if !ok {
		return nil, false
	}
	b, ok := bb.Buffered()
	if ok {
		c.n.Add(int64(len(b)))
	}
	return b, ok
}

// smallBody is the largest request body read whole before the handler
// runs (with a known length): reading it later would cost an async op
// round trip for little memory saved.
const smallBody = 64 << 10

// bufferedBody is a request body already in memory.
type bufferedBody struct{ r *bytes.Reader }

func (b bufferedBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b bufferedBody) Close() error               { return nil }

// Buffered implements webapi.BufferedBody.
func (b bufferedBody) Buffered() ([]byte, bool) {
	out := make([]byte, b.r.Len())
	n, _ := b.r.Read(out)
	return out[:n], true
}

// requestBody is the request-body half every exchange shares: the body the
// handler reads, counted.
type requestBody struct{ in *countingBody }

func (b *requestBody) body() io.ReadCloser {
	if b.in == nil {
		return nil
	}
	return b.in
}

func (b *requestBody) bodyRead() int64 {
	if b.in == nil {
		return 0
	}
	return b.in.n.Load()
}

// checkResponseSize refuses n more response bytes after written when they
// would pass limit (0: no limit).
func checkResponseSize(limit, written int64, n int) error {
	if limit > 0 && written+int64(n) > limit {
		return fmt.Errorf("response body of %d bytes is over the limit of %d", written+int64(n), limit)
	}
	return nil
}
