package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/kumo-dev/kumo/internal/webapi"
)

// ServeHTTP runs the version's fetch handler for one net/http request.
// net/http lets a handler stream its body, so the invocation never leaves
// this goroutine.
func (p *Pool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &netExchange{w: w, r: r, limit: p.v.limits.ResponseBody}
	if r.Body != nil && r.Body != http.NoBody {
		body := http.MaxBytesReader(w, r.Body, p.v.limits.RequestBody)
		if n := r.ContentLength; n > 0 && n <= smallBody {
			// Small bodies are read now, so the handler's text() or json()
			// takes them without an async round trip.
			if b, err := io.ReadAll(body); err == nil {
				body = bufferedBody{bytes.NewReader(b)}
			} else {
				body = io.NopCloser(errReader{err})
			}
		}
		x.in = &countingBody{r: body}
		// A handler may stream the request body into its response
		// (new Response(request.body)): without full duplex, net/http's
		// HTTP/1 server drops the unread body once the head is flushed.
		_ = http.NewResponseController(w).EnableFullDuplex()
	}
	if rest := p.serveExchange(x, r.Method, r.URL.Path); rest != nil {
		rest()
	}
	if x.aborted {
		panic(http.ErrAbortHandler)
	}
}

// netExchange adapts net/http to exchange.
type netExchange struct {
	w http.ResponseWriter
	r *http.Request
	requestBody
	limit   int64
	started bool
	status  int
	written int64
	aborted bool
}

func (x *netExchange) request() (string, string, string) {
	r := x.r
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	b := make([]byte, 0, 256)
	b = append(b, "host:"...)
	b = append(b, r.Host...)
	b = append(b, '\n')
	for k, vs := range r.Header {
		for _, v := range vs {
			b = appendLower(b, k)
			b = append(b, ':')
			b = append(b, v...)
			b = append(b, '\n')
		}
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		// Absolute form (GET http://host/path), which servers must accept.
		uri = r.URL.RequestURI()
	}
	return r.Method, scheme + r.Host + uri, string(b)
}

func (x *netExchange) contentLength() int64     { return x.r.ContentLength }
func (x *netExchange) ctx() context.Context     { return x.r.Context() }
func (x *netExchange) detachable() bool         { return false }
func (x *netExchange) abort()                   { x.aborted = true }
func (x *netExchange) sent() (bool, int, int64) { return x.started, x.status, x.written }
func (x *netExchange) End() error               { return nil }
func (x *netExchange) platformError(status int, reason, msg string) {
	h := x.w.Header()
	h.Set(ErrorHeader, reason)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	x.w.WriteHeader(status)
	io.WriteString(x.w, msg)
	x.started, x.status = true, status
}

func (x *netExchange) Start(status int, headers webapi.HeaderLines, body []byte, streamed bool) error {
	if x.started {
		return errors.New("response already sent")
	}
	if err := checkResponseSize(x.limit, 0, len(body)); err != nil {
		return err
	}
	dst := x.w.Header()
	if err := headers.Each(func(name, value string) {
		key := textproto.CanonicalMIMEHeaderKey(name)
		dst[key] = append(dst[key], value)
	}); err != nil {
		return err
	}
	if !streamed {
		dst["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	x.started, x.status = true, status
	x.w.WriteHeader(status)
	if len(body) > 0 {
		n, err := x.w.Write(body)
		x.written += int64(n)
		if err != nil {
			return err
		}
	}
	if !streamed {
		// The whole response is known: flush it now so waitUntil work
		// that follows does not delay the client.
		if f, ok := x.w.(http.Flusher); ok {
			f.Flush()
		}
	}
	return nil
}

func (x *netExchange) Write(p []byte) error {
	if err := checkResponseSize(x.limit, x.written, len(p)); err != nil {
		return err
	}
	n, err := x.w.Write(p)
	x.written += int64(n)
	if err != nil {
		return err
	}
	if f, ok := x.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

var _ exchange = (*netExchange)(nil)
