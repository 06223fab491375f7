package webapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kumo-dev/kumo/internal/engine"
)

// DefaultMaxSubrequests is the fetch calls one invocation may make when
// Host.MaxSubrequests is 0.
const DefaultMaxSubrequests = 50

// maxRedirects is the fetch standard's redirect limit.
const maxRedirects = 20

func fetchOps() []engine.Op {
	return []engine.Op{
		{Name: "op_fetch_start", Fn: opFetchStart},
		{Name: "op_fetch_send", Fn: opFetchSend},
		{Name: "op_fetch_cancel", Fn: opFetchCancel},
		{Name: "op_fetch_body_write", Fn: opFetchBodyWrite},
		{Name: "op_fetch_body_close", Fn: opFetchBodyClose},
	}
}

// fetchCall is one outbound fetch between op_fetch_start and the end of its
// response body.
type fetchCall struct {
	req      *http.Request // nil once sent
	cancel   context.CancelFunc
	redirect string // "follow", "error" or "manual"
	gen      uint64
	body     *io.PipeWriter // a body JS streams with op_fetch_body_write
}

// op_fetch_start(method, url, headersFlat, body, redirectMode) checks the
// request and returns the id op_fetch_send and op_fetch_cancel take. body is
// null, a string, bytes, the id of a body resource to stream from (its
// ownership passes to the fetch), or -1 for a body JS streams with
// op_fetch_body_write and op_fetch_body_close.
func opFetchStart(c *engine.Call) error {
	h := host(c)
	method := c.String(0)
	rawURL := c.String(1)
	redirect := c.String(4)
	switch redirect {
	case "follow", "error", "manual":
	default:
		return engine.TypeError("fetch: invalid redirect mode %q", redirect)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return engine.TypeError("fetch: invalid URL %q", rawURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return engine.TypeError("fetch: URL scheme %q is not supported (only http and https)", strings.TrimSuffix(u.Scheme, ":"))
	}
	if u.Host == "" {
		return engine.TypeError("fetch: URL %q has no host", rawURL)
	}
	header, err := parseHeadersFlat(c.String(2))
	if err != nil {
		return engine.TypeError("fetch: %v", err)
	}
	limit := h.MaxSubrequests
	if limit <= 0 {
		limit = DefaultMaxSubrequests
	}
	if h.io.subrequests >= limit {
		return engine.TypeError("fetch: too many subrequests (limit %d)", limit)
	}

	var body io.Reader
	var bodyRes *bodyResource
	var pr *io.PipeReader
	var pw *io.PipeWriter
	bodyRid := -1
	arg := c.Arg(3)
	switch {
	case arg.IsNull() || arg.IsUndefined():
	case arg.IsString():
		body = strings.NewReader(toUSV(c.String(3)))
	case arg.IsObject():
		b, ok := c.Bytes(3)
		if !ok {
			return engine.TypeError("fetch: request body is not bytes")
		}
		body = bytes.NewReader(b)
	case c.Int(3) < 0:
		pr, pw = io.Pipe()
	default:
		bodyRid = int(c.Int(3))
		res, err := h.takeResource(bodyRid, "fetch")
		if err != nil {
			return err
		}
		bodyRes = res
	}

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		cancel()
		if bodyRes != nil {
			h.closeResource(bodyRid)
		}
		return engine.TypeError("fetch: %v", err)
	}
	// Host comes from the URL, as in browsers and Workers: a Host header
	// copied from an incoming request must not redirect the connection's
	// virtual host. Content-Length comes from the body.
	delete(header, "Host")
	contentLength := header.Get("Content-Length")
	delete(header, "Content-Length")
	req.Header = header
	out := &h.io.bytesOut
	if bodyRes != nil || pr != nil {
		req.ContentLength = -1 // chunked
	}
	if bodyRes != nil && contentLength != "" {
		// A body resource passed on whole (a proxied request body): the
		// length its headers announce is the length it has.
		if n, err := strconv.ParseInt(contentLength, 10, 64); err == nil && n >= 0 {
			req.ContentLength = n
		}
	}
	switch {
	case pr != nil:
		req.Body = &countingBody{r: pr, n: out, close: func() error { return pr.Close() }}
	case bodyRes != nil:
		req.Body = &countingBody{r: bodyRes.r, n: out, close: func() error {
			bodyRes.busy.Store(false)
			h.closeResource(bodyRid)
			return nil
		}}
	case req.Body != nil:
		req.Body = &countingBody{r: req.Body, n: out, close: req.Body.Close}
		if getBody := req.GetBody; getBody != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				rc, err := getBody()
				if err != nil {
					return nil, err
				}
				return &countingBody{r: rc, n: out, close: rc.Close}, nil
			}
		}
	}
	h.io.subrequests++

	s := &h.io
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fetches == nil {
		s.fetches = make(map[int]*fetchCall)
	}
	s.nextID++
	id := s.nextID
	s.fetches[id] = &fetchCall{req: req, cancel: cancel, redirect: redirect, gen: s.gen.Load(), body: pw}
	return c.Return(id)
}

// op_fetch_send(id) sends the request and resolves to [status, statusText,
// headersFlat, bodyRid, finalURL, redirected]; bodyRid is -1 when the
// response has no body. It rejects with an AbortError DOMException after
// op_fetch_cancel, and with a TypeError naming fetch otherwise.
func opFetchSend(c *engine.Call) error {
	h := host(c)
	id := int(c.Int(0))
	s := &h.io
	s.mu.Lock()
	call := s.fetches[id]
	var req *http.Request
	if call != nil {
		req, call.req = call.req, nil
	}
	s.mu.Unlock()
	if call == nil || req == nil {
		return engine.TypeError("fetch: no request %d to send", id)
	}
	p, err := c.Promise()
	if err != nil {
		return err
	}
	client := h.client(call.redirect)
	method := req.Method
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			err = fetchError(req, err) // before dropFetch cancels the context
			h.dropFetch(id)
			p.Reject(err)
			return
		}
		redirected := resp.Request != nil && resp.Request.Response != nil
		finalURL := req.URL.String()
		if resp.Request != nil {
			finalURL = resp.Request.URL.String()
		}
		statusText := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
		flat := FlattenHeaders(resp.Header)
		rid := -1
		if method == http.MethodHead || nullBodyStatus(resp.StatusCode) {
			resp.Body.Close()
			h.dropFetch(id)
		} else {
			body := &countingBody{r: resp.Body, n: &s.bytesIn, close: resp.Body.Close}
			res := &bodyResource{r: body, onClose: func() { h.dropFetch(id) }}
			s.mu.Lock()
			if s.gen.Load() != call.gen {
				s.mu.Unlock()
				res.close()
				p.Reject(engine.DOMException("AbortError", "fetch: the invocation ended"))
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
		p.Resolve([]any{resp.StatusCode, statusText, flat, rid, finalURL, redirected})
	}()
	return nil
}

// op_fetch_cancel(id) aborts a fetch: the pending op_fetch_send rejects
// with an AbortError and reads of its response body fail.
func opFetchCancel(c *engine.Call) error {
	host(c).dropFetch(int(c.Int(0)))
	return nil
}

// op_fetch_body_write(id, chunk) writes a chunk of a streamed request body
// and resolves once the transport has taken it.
func opFetchBodyWrite(c *engine.Call) error {
	pw, err := host(c).fetchBody(int(c.Int(0)))
	if err != nil {
		return err
	}
	chunk, ok := c.Bytes(1)
	if !ok {
		return engine.TypeError("fetch: request body chunk is not bytes")
	}
	p, err := c.Promise()
	if err != nil {
		return err
	}
	go func() {
		if _, err := pw.Write(chunk); err != nil {
			p.Reject(engine.TypeError("fetch: sending request body: %v", err))
			return
		}
		p.Resolve(engine.Undefined{})
	}()
	return nil
}

// op_fetch_body_close(id, error) ends a streamed request body: cleanly when
// error is null, else failing the request with error.
func opFetchBodyClose(c *engine.Call) error {
	pw, err := host(c).fetchBody(int(c.Int(0)))
	if err != nil {
		return nil // the fetch is over already
	}
	if c.IsNullish(1) {
		pw.Close()
	} else {
		pw.CloseWithError(errors.New(c.String(1)))
	}
	return nil
}

func (h *Host) fetchBody(id int) (*io.PipeWriter, error) {
	s := &h.io
	s.mu.Lock()
	defer s.mu.Unlock()
	call := s.fetches[id]
	if call == nil || call.body == nil {
		return nil, engine.TypeError("fetch: request %d has no streamed body in flight", id)
	}
	return call.body, nil
}

// dropFetch cancels the context of fetch id and forgets it.
func (h *Host) dropFetch(id int) {
	s := &h.io
	s.mu.Lock()
	call := s.fetches[id]
	delete(s.fetches, id)
	s.mu.Unlock()
	if call != nil {
		call.cancel()
		if call.body != nil {
			call.body.CloseWithError(context.Canceled)
		}
	}
}

func nullBodyStatus(status int) bool {
	return status == 101 || status == 103 || status == 204 || status == 205 || status == 304
}

// countingBody counts the bytes read through it into n.
type countingBody struct {
	r     io.Reader
	n     *atomic.Int64
	close func() error
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.close() }

// redirectError is a redirect the request's redirect mode refuses.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// client returns the HTTP client for one fetch with redirect mode mode.
func (h *Host) client(mode string) *http.Client {
	base := h.HTTPClient
	if base == nil {
		base = NewEgressClient(h.AllowPrivateNetwork)
	}
	c := *base
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		switch mode {
		case "manual":
			return http.ErrUseLastResponse
		case "error":
			return &redirectError{fmt.Sprintf("fetch: redirect mode is \"error\" but %s redirected to %s", via[len(via)-1].URL, req.URL)}
		}
		if len(via) > maxRedirects {
			return &redirectError{fmt.Sprintf("fetch: too many redirects (more than %d)", maxRedirects)}
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return &redirectError{fmt.Sprintf("fetch: redirect to unsupported URL scheme %q", req.URL.Scheme)}
		}
		return nil
	}
	return &c
}

// fetchError turns a failed client.Do into the error JS sees.
func fetchError(req *http.Request, err error) error {
	var ee *EgressError
	var re *redirectError
	switch {
	case req.Context().Err() != nil:
		return engine.DOMException("AbortError", "fetch: the operation was aborted")
	case errors.As(err, &ee):
		return engine.TypeError("fetch: %v", ee)
	case errors.As(err, &re):
		return engine.TypeError("%s", re.msg)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return engine.TypeError("fetch: %s %s: %v", req.Method, req.URL.Redacted(), err)
}

// EgressError is a connection the egress policy refused.
type EgressError struct {
	Addr   string // "ip:port"
	Reason string // e.g. "loopback address"
}

func (e *EgressError) Error() string {
	return fmt.Sprintf("connection to %s refused by egress policy (%s)", e.Addr, e.Reason)
}

var (
	egressOnce     sync.Once
	egressStrict   *http.Client
	egressAllowAll *http.Client
)

// NewEgressClient returns the shared outbound HTTP client. Unless
// allowPrivate, its dialer refuses non-public addresses after DNS
// resolution (so a name that resolves, or rebinds, to a private address is
// refused too); it ignores proxy environment variables.
func NewEgressClient(allowPrivate bool) *http.Client {
	egressOnce.Do(func() {
		egressStrict = &http.Client{Transport: newTransport(egressControl)}
		egressAllowAll = &http.Client{Transport: newTransport(nil)}
	})
	if allowPrivate {
		return egressAllowAll
	}
	return egressStrict
}

func newTransport(control func(network, address string, c syscall.RawConn) error) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: control}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// egressControl is the dialer hook of the strict client: it sees the
// resolved address of every connection attempt.
func egressControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &EgressError{Addr: address, Reason: "unparsable address"}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return &EgressError{Addr: address, Reason: "unparsable address"}
	}
	if reason := blockedReason(ip); reason != "" {
		return &EgressError{Addr: address, Reason: reason}
	}
	return nil
}

var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
)

// blockedReason says why ip is not a public address, or "" if it is.
func blockedReason(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) { // judge the IPv4 address a NAT64 gateway would reach
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case ip.IsLoopback():
		return "loopback address"
	case ip.IsUnspecified():
		return "unspecified address"
	case ip.IsPrivate():
		return "private address"
	case ip.IsLinkLocalUnicast():
		return "link-local address"
	case ip.IsMulticast():
		return "multicast address"
	case cgnat.Contains(ip):
		return "carrier-grade NAT address"
	case thisNetwork.Contains(ip):
		return "\"this network\" address"
	case reserved4.Contains(ip):
		return "reserved address"
	}
	return ""
}
