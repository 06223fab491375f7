package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/kumo-dev/kumo/internal/webapi"
)

// ServeFastHTTP runs the version's fetch handler for one fasthttp request.
// fasthttp writes the response after its handler returns, so once the head
// of the response is decided the rest of the invocation (a streamed body,
// waitUntil work) moves to its own goroutine, and a streamed body reaches
// fasthttp through a pipe.
func (p *Pool) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	x := &fastExchange{c: ctx, limit: p.v.limits.ResponseBody}
	if n := ctx.Request.Header.ContentLength(); n != 0 {
		var r io.Reader = ctx.RequestBodyStream()
		switch {
		case r == nil:
			// A body that fit in fasthttp's buffer was read whole; the
			// buffer is reused after the handler, so copy it.
			r = bytes.NewReader(bytes.Clone(ctx.Request.Body()))
		case n > 0 && int64(n) <= smallBody && int64(n) <= p.v.limits.RequestBody:
			// Small bodies are read now, so the handler's text() or json()
			// takes them without an async round trip.
			if b, err := io.ReadAll(io.LimitReader(r, int64(n))); err == nil {
				r = bytes.NewReader(b)
			} else {
				r = io.MultiReader(bytes.NewReader(b), errReader{err})
			}
		}
		x.src = &detachableBody{r: r, limit: p.v.limits.RequestBody}
		x.in = &countingBody{r: x.src}
	}
	if rest := p.serveExchange(x, string(ctx.Method()), string(ctx.Path())); rest != nil {
		// fasthttp reuses ctx and its connection once this returns: what
		// is left of the request body must be read now.
		if x.src != nil {
			x.src.detach()
		}
		go rest()
	}
}

// detachableBody reads a request body from the connection until detach,
// which reads the rest into memory so the handler can go on reading after
// the server moved on.
type detachableBody struct {
	mu    sync.Mutex
	r     io.Reader
	limit int64
	read  int64
	err   error
}

func (b *detachableBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		b.err = fmt.Errorf("request body is over the limit of %d bytes", b.limit)
		return n, b.err
	}
	return n, err
}

func (b *detachableBody) Close() error { return nil }

// Buffered implements webapi.BufferedBody for a body fasthttp read whole.
func (b *detachableBody) Buffered() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br, ok := b.r.(*bytes.Reader)
	if !ok || b.err != nil {
		return nil, false
	}
	out := make([]byte, br.Len())
	n, _ := br.Read(out)
	b.read += int64(n)
	return out[:n], true
}

func (b *detachableBody) detach() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return
	}
	rest, err := io.ReadAll(io.LimitReader(b.r, b.limit-b.read+1))
	if err != nil {
		b.err = err
		return
	}
	b.r = bytes.NewReader(rest)
}

// fastExchange adapts fasthttp to exchange.
type fastExchange struct {
	c   *fasthttp.RequestCtx
	src *detachableBody
	requestBody
	limit   int64
	started bool
	status  int
	written atomic.Int64
	pipe    *io.PipeWriter
}

func (x *fastExchange) request() (string, string, string) {
	c := x.c
	b := make([]byte, 0, 256)
	for k, v := range c.Request.Header.All() {
		b = appendLower(b, string(k))
		b = append(b, ':')
		b = append(b, v...)
		b = append(b, '\n')
	}
	scheme := "http://"
	if c.IsTLS() {
		scheme = "https://"
	}
	uri := c.RequestURI()
	if len(uri) == 0 || uri[0] != '/' {
		// Absolute form (GET http://host/path), which servers must accept.
		uri = c.URI().RequestURI()
	}
	return string(c.Method()), scheme + string(c.Host()) + string(uri), string(b)
}

func (x *fastExchange) contentLength() int64 {
	n := x.c.Request.Header.ContentLength()
	if n < 0 {
		return 0 // chunked: the limit applies while reading
	}
	return int64(n)
}

// ctx is not the RequestCtx: fasthttp reuses it when the handler returns,
// and its Done only reports server shutdown.
func (x *fastExchange) ctx() context.Context { return context.Background() }

// detachable: fasthttp sends the response only after its handler returns,
// so any JS left once the head is decided runs on its own goroutine.
func (x *fastExchange) detachable() bool { return x.started }
func (x *fastExchange) sent() (bool, int, int64) {
	return x.started, x.status, x.written.Load()
}

func (x *fastExchange) abort() {
	if x.pipe != nil {
		x.pipe.CloseWithError(errors.New("response aborted"))
	}
}

func (x *fastExchange) platformError(status int, reason, msg string) {
	r := &x.c.Response
	r.Header.Set(ErrorHeader, reason)
	r.Header.SetContentType("text/plain; charset=utf-8")
	r.Header.Set("X-Content-Type-Options", "nosniff")
	r.SetStatusCode(status)
	r.SetBodyString(msg)
	x.started, x.status = true, status
}

func (x *fastExchange) Start(status int, headers webapi.HeaderLines, body []byte, streamed bool) error {
	if x.started {
		return errors.New("response already sent")
	}
	if err := checkResponseSize(x.limit, 0, len(body)); err != nil {
		return err
	}
	r := &x.c.Response
	if err := headers.Each(func(name, value string) {
		switch name {
		case "content-type":
			r.Header.SetContentType(value)
		case "content-length":
			// fasthttp sets it from the body; a stream keeps its own.
		default:
			r.Header.Add(name, value)
		}
	}); err != nil {
		return err
	}
	r.SetStatusCode(status)
	x.started, x.status = true, status
	if streamed {
		pr, pw := io.Pipe()
		x.pipe = pw
		x.c.SetBodyStream(pr, -1)
		return nil
	}
	if status != http.StatusNoContent && status != http.StatusNotModified {
		r.SetBody(body)
	}
	x.written.Store(int64(len(body)))
	return nil
}

func (x *fastExchange) Write(p []byte) error {
	if err := checkResponseSize(x.limit, x.written.Load(), len(p)); err != nil {
		return err
	}
	n, err := x.pipe.Write(p)
	x.written.Add(int64(n))
	return err
}

func (x *fastExchange) End() error {
	if x.pipe != nil {
		return x.pipe.Close()
	}
	return nil
}

var _ exchange = (*fastExchange)(nil)

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
