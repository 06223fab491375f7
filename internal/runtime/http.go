package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kumo-dev/kumo/internal/engine"
)

// ErrorHeader carries the typed reason of a platform error response.
const ErrorHeader = "Kumo-Error"

var errNoResponse = errors.New("the handler's promise never settled, so no response was sent")

// ServeHTTP runs the version's fetch handler for one request.
func (p *Pool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := Usage{App: p.v.App, Version: p.v.ID, Handler: "fetch", Start: time.Now(), RequestID: p.rt.newRequestID(),
		Method: r.Method, Path: r.URL.Path}
	p.requests.Add(1)
	p.serve(w, r, &u)
	u.Wall = time.Since(u.Start)
	if rec := p.rt.cfg.Recorder; rec != nil {
		rec.Record(&u)
	}
}

func (p *Pool) serve(w http.ResponseWriter, r *http.Request, u *Usage) {
	limits := &p.v.limits
	if r.ContentLength > limits.RequestBody {
		u.Outcome = OutcomeTooLarge
		p.platformError(w, u, http.StatusRequestEntityTooLarge, string(OutcomeTooLarge),
			fmt.Sprintf("request body of %d bytes is over the limit of %d", r.ContentLength, limits.RequestBody))
		return
	}
	// The wall-time context is made only when the handler has to wait:
	// a handler that answers synchronously never needs its timer.
	wall := lazyDeadline{parent: r.Context(), d: limits.Wall}
	defer wall.cancel()
	inst, cold, err := p.acquire(r.Context(), &wall)
	u.ColdStart = cold
	if err != nil {
		if errors.Is(err, errOverloaded) {
			u.Outcome = OutcomeOverload
			p.platformError(w, u, http.StatusServiceUnavailable, string(OutcomeOverload), "all instances of this app are busy")
			return
		}
		p.fail(w, u, err)
		return
	}
	discard, released := false, false
	defer func() {
		if !released {
			p.release(inst, discard)
		}
	}()

	vm, h := inst.vm, inst.host
	inst.requestID = u.RequestID
	h.ResetInvocation()
	inst.sink.reset(w, limits.ResponseBody)
	h.Sink = &inst.sink
	rid := -1
	if r.Body != nil && r.Body != http.NoBody {
		counted := &countingReader{r: http.MaxBytesReader(w, r.Body, limits.RequestBody), n: &u.BytesIn}
		rid = h.AddBody(counted)
	}
	vm.SetCPUBudget(limits.CPU)
	res, err := inst.fetch.Call(inst.entry, r.Method, requestURL(r), flattenHeaders(r), rid, u.RequestID)
	if err == nil {
		err = settle(vm, res, &wall)
		res.Free()
	}
	if err == nil && inst.sink.started {
		// The response is out; background work registered with
		// ctx.waitUntil may still run within the wall limit.
		var wu engine.Value
		if wu, err = inst.waitUntil.Call(inst.entry); err == nil {
			err = settle(vm, wu, &wall)
			wu.Free()
		}
	}
	ctx := wall.ctx
	u.CPU = vm.CPUUsed()
	used, limit := vm.MemoryUsage()
	u.MemoryPeak = used
	u.BytesOut = inst.sink.written
	u.Status = inst.sink.status
	h.ResetInvocation()
	if err != nil {
		if errors.Is(err, errNoResponse) || ctx != nil && ctx.Err() != nil {
			// Work is still pending inside the VM; it cannot be reused.
			discard = true
			if ctx != nil && ctx.Err() != nil {
				err = wallError(ctx)
			}
		}
		var le *engine.LimitError
		if errors.As(err, &le) {
			discard = true
		}
		if inst.sink.started {
			u.Outcome, u.Error = outcomeOf(err), err.Error()
			p.logFailure(u, err)
			// The status line is out; cutting the connection is the only way
			// left to tell the client the body is incomplete.
			p.release(inst, discard)
			released = true
			panic(http.ErrAbortHandler)
		}
		p.fail(w, u, p.mapError(err))
		return
	}
	if limit > 0 && used > limit/10*9 {
		// Nearly full heaps fail the next request in odd places; start
		// fresh instead.
		discard = true
	}
	u.Outcome = OutcomeOK
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

// settle runs the event loop until promise settles, the deadline passes,
// or nothing is left that could settle it.
func settle(vm *engine.VM, promise engine.Value, wall *lazyDeadline) error {
	for {
		if err := vm.RunJobs(); err != nil {
			return err
		}
		switch promise.PromiseState() {
		case engine.PromiseFulfilled, engine.NotAPromise:
			return nil
		case engine.PromiseRejected:
			reason := promise.PromiseResult()
			defer reason.Free()
			return reason.AsError()
		}
		done := wall.done()
		if err := vm.Wait(done); err != nil {
			if errors.Is(err, engine.ErrIdle) {
				return errNoResponse
			}
			return err
		}
		select {
		case <-done:
			return wallError(wall.ctx)
		default:
		}
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

// fail answers an invocation that ended without a response.
func (p *Pool) fail(w http.ResponseWriter, u *Usage, err error) {
	u.Outcome, u.Error = outcomeOf(err), err.Error()
	p.logFailure(u, err)
	var le *engine.LimitError
	switch {
	case errors.As(err, &le):
		p.platformError(w, u, http.StatusServiceUnavailable, le.Kind.String(), limitMessage(le.Kind))
	case u.Outcome == OutcomeNoHandler:
		p.platformError(w, u, http.StatusInternalServerError, string(OutcomeNoHandler), err.Error())
	default:
		body := "Internal Server Error\n"
		if p.rt.cfg.ExposeErrors {
			body = errorText(err)
		}
		p.platformError(w, u, http.StatusInternalServerError, "exception", body)
	}
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

func (p *Pool) platformError(w http.ResponseWriter, u *Usage, status int, reason, msg string) {
	h := w.Header()
	h.Set(ErrorHeader, reason)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	n, _ := w.Write([]byte(msg))
	if !strings.HasSuffix(msg, "\n") {
		w.Write([]byte("\n"))
	}
	u.Status = status
	u.BytesOut += int64(n)
}

func (p *Pool) logFailure(u *Usage, err error) {
	p.rt.log.Warn("invocation failed", "app", u.App, "version", u.Version, "request_id", u.RequestID,
		"outcome", string(u.Outcome), "err", errorText(p.mapError(err)))
}

// requestURL rebuilds the URL the client asked for.
func requestURL(r *http.Request) string {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + r.Host + r.RequestURI
}

// flattenHeaders encodes request headers as "name:value\n" lines with
// lowercase names, the form the dispatch layer parses lazily.
func flattenHeaders(r *http.Request) string {
	n := len(r.Host) + 6
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("host:")
	b.WriteString(r.Host)
	b.WriteByte('\n')
	for k, vs := range r.Header {
		lk := lowerHeader(k)
		for _, v := range vs {
			b.WriteString(lk)
			b.WriteByte(':')
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// lowerHeader lowercases a canonical header name without allocating for
// the common ones.
func lowerHeader(k string) string {
	switch k {
	case "Accept":
		return "accept"
	case "User-Agent":
		return "user-agent"
	case "Content-Type":
		return "content-type"
	case "Content-Length":
		return "content-length"
	case "Accept-Encoding":
		return "accept-encoding"
	case "Connection":
		return "connection"
	}
	return strings.ToLower(k)
}

// httpSink writes the response JavaScript produces to the client.
type httpSink struct {
	w       http.ResponseWriter
	limit   int64
	started bool
	status  int
	written int64
}

func (s *httpSink) reset(w http.ResponseWriter, limit int64) {
	*s = httpSink{w: w, limit: limit}
}

func (s *httpSink) Start(status int, header http.Header, body []byte, streamed bool) error {
	if s.started {
		return errors.New("response already sent")
	}
	if s.limit > 0 && int64(len(body)) > s.limit {
		return fmt.Errorf("response body of %d bytes is over the limit of %d", len(body), s.limit)
	}
	dst := s.w.Header()
	for k, v := range header {
		dst[k] = v
	}
	if !streamed {
		dst["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	s.started, s.status = true, status
	s.w.WriteHeader(status)
	if len(body) > 0 {
		n, err := s.w.Write(body)
		s.written += int64(n)
		return err
	}
	return nil
}

func (s *httpSink) Write(p []byte) error {
	if s.limit > 0 && s.written+int64(len(p)) > s.limit {
		return fmt.Errorf("response body is over the limit of %d bytes", s.limit)
	}
	n, err := s.w.Write(p)
	s.written += int64(n)
	if err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (s *httpSink) End() error { return nil }

type countingReader struct {
	r interface {
		Read([]byte) (int, error)
		Close() error
	}
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }
