package webapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/kumo-dev/kumo/internal/engine"
)

// ResponseSink receives one HTTP response from JS. It is independent of
// the HTTP server library: headers arrive as the lines JS produced, so a
// server that keeps its own header representation builds no http.Header.
type ResponseSink interface {
	// Start sends the status and headers; body is the whole body when known (streamed=false).
	Start(status int, headers HeaderLines, body []byte, streamed bool) error
	Write(p []byte) error // called from a goroutine the op spawns; must be safe to call off the VM goroutine
	End() error
}

// BufferedBody is a body resource that may already hold all its bytes in
// memory (a small request body the HTTP server read whole); reading it
// whole then needs no goroutine and no promise round trip.
type BufferedBody interface {
	// Buffered returns every remaining byte and true, consuming them, or
	// false when the body must be read as a stream.
	Buffered() ([]byte, bool)
}

// bodyChunkSize is the most op_body_read returns at once.
const bodyChunkSize = 64 << 10

// ioState is the per-instance state of bodies and fetches: a table of
// readable body resources addressed by integer ids (the Deno resource
// table), the outbound fetches in flight, the response being sent and the
// usage counters. The tables are guarded by mu because the goroutines that
// finish async ops register and drop entries too.
type ioState struct {
	mu        sync.Mutex
	gen       atomic.Uint64 // bumped by ResetInvocation; late goroutines compare it
	nextID    int
	resources map[int]*bodyResource
	fetches   map[int]*fetchCall

	subrequests int // VM goroutine only
	bytesIn     atomic.Int64
	bytesOut    atomic.Int64

	resp responseState
}

// responseState tracks the response of the current invocation: the VM
// goroutine starts and ends it; writes run on op goroutines, one at a time
// (the JS side awaits each), serialised by writeMu all the same.
type responseState struct {
	started, streamed, ended bool
	writeMu                  sync.Mutex
	sink                     ResponseSink
}

// bodyResource is one readable body. busy is held by the goroutine reading
// it; eof is written only by the holder of busy.
type bodyResource struct {
	r       io.ReadCloser
	busy    atomic.Bool
	eof     bool
	onClose func() // e.g. cancelling the fetch the body belongs to
	once    sync.Once
}

func (r *bodyResource) close() {
	r.once.Do(func() {
		r.r.Close()
		if r.onClose != nil {
			r.onClose()
		}
	})
}

// AddBody registers r, e.g. an incoming request body, as a body resource
// and returns its id for entry.fetch. The resource is closed when JS reads
// it to the end, cancels it, or at ResetInvocation.
func (h *Host) AddBody(r io.ReadCloser) int {
	return h.addResource(&bodyResource{r: r})
}

func (h *Host) addResource(res *bodyResource) int {
	s := &h.io
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resources == nil {
		s.resources = make(map[int]*bodyResource)
	}
	s.nextID++
	s.resources[s.nextID] = res
	return s.nextID
}

// resource returns the open resource rid.
func (h *Host) resource(rid int) *bodyResource {
	s := &h.io
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resources[rid]
}

// closeResource closes and drops rid; closing an unknown id does nothing.
func (h *Host) closeResource(rid int) {
	s := &h.io
	s.mu.Lock()
	res := s.resources[rid]
	delete(s.resources, rid)
	s.mu.Unlock()
	if res != nil {
		res.close()
	}
}

// takeResource claims rid for one reader, or explains why it cannot.
func (h *Host) takeResource(rid int, api string) (*bodyResource, error) {
	res := h.resource(rid)
	if res == nil {
		return nil, engine.TypeError("%s: body resource %d is closed", api, rid)
	}
	if !res.busy.CompareAndSwap(false, true) {
		return nil, engine.TypeError("%s: body resource %d is already being read", api, rid)
	}
	return res, nil
}

// IOUsage is what one invocation spent on outbound fetch.
type IOUsage struct {
	Subrequests int
	BytesIn     int64 // response bytes read from fetched responses
	BytesOut    int64 // request body bytes sent by fetch
}

// Usage reports the fetch usage since the last ResetInvocation.
func (h *Host) Usage() IOUsage {
	return IOUsage{
		Subrequests: h.io.subrequests,
		BytesIn:     h.io.bytesIn.Load(),
		BytesOut:    h.io.bytesOut.Load(),
	}
}

// ResetInvocation closes the per-invocation resources: every body resource,
// every fetch in flight (their contexts are cancelled), the response state
// and the usage counters (read Usage first). It also clears Sink.
func (h *Host) ResetInvocation() {
	s := &h.io
	s.mu.Lock()
	s.gen.Add(1)
	resources, fetches := s.resources, s.fetches
	s.resources, s.fetches = nil, nil
	s.mu.Unlock()
	for _, res := range resources {
		res.close()
	}
	for _, f := range fetches {
		f.cancel()
	}
	s.subrequests = 0
	s.bytesIn.Store(0)
	s.bytesOut.Store(0)
	// Goroutines still writing hold their own sink and stop at their next
	// write, seeing gen changed; no lock here, so a write blocked on a slow
	// client cannot hold up the reset.
	s.resp.started, s.resp.streamed, s.resp.ended, s.resp.sink = false, false, false, nil
	h.Sink = nil
}

func bodyOps() []engine.Op {
	return []engine.Op{
		{Name: "op_body_read", Fn: opBodyRead},
		{Name: "op_body_read_all", Fn: opBodyReadAll},
		{Name: "op_resource_close", Fn: opResourceClose},
		{Name: "op_formdata_parse", Fn: opFormDataParse},
		{Name: "op_respond", Fn: opRespond},
		{Name: "op_respond_write", Fn: opRespondWrite},
		{Name: "op_respond_pipe", Fn: opRespondPipe},
		{Name: "op_respond_end", Fn: opRespondEnd},
	}
}

// bodyError turns a failed body read into the error JS sees.
func bodyError(api string, err error) error {
	if errors.Is(err, context.Canceled) {
		return engine.DOMException("AbortError", "%s: the operation was aborted", api)
	}
	var je *engine.JSError
	if errors.As(err, &je) {
		return je
	}
	return engine.TypeError("%s: reading body: %v", api, err)
}

// op_body_read(rid) resolves to the next chunk of the body (a Uint8Array of
// at most 64 KiB) or null at the end, where the resource is closed.
func opBodyRead(c *engine.Call) error {
	h := host(c)
	rid := int(c.Int(0))
	res, err := h.takeResource(rid, "op_body_read")
	if err != nil {
		return err
	}
	p, err := c.Promise()
	if err != nil {
		res.busy.Store(false)
		return err
	}
	go func() {
		if res.eof {
			res.busy.Store(false)
			h.closeResource(rid)
			p.Resolve(nil)
			return
		}
		buf := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(buf)
		var n int
		var err error
		for n == 0 && err == nil {
			n, err = res.r.Read(*buf)
		}
		if err == io.EOF {
			res.eof, err = true, nil
		}
		res.busy.Store(false)
		switch {
		case err != nil:
			h.closeResource(rid)
			p.Reject(bodyError("body", err))
		case n == 0: // EOF with no data
			h.closeResource(rid)
			p.Resolve(nil)
		default:
			p.Resolve(bytes.Clone((*buf)[:n]))
		}
	}()
	return nil
}

var chunkPool = sync.Pool{New: func() any { b := make([]byte, bodyChunkSize); return &b }}

// op_body_read_all(rid, asText) resolves to the rest of the body, as bytes,
// or as a string decoded from UTF-8 (BOM dropped, invalid bytes replaced)
// when asText; the resource is closed.
func opBodyReadAll(c *engine.Call) error {
	h := host(c)
	rid := int(c.Int(0))
	asText := c.Bool(1)
	res, err := h.takeResource(rid, "op_body_read_all")
	if err != nil {
		return err
	}
	if bb, ok := res.r.(BufferedBody); ok && !res.eof {
		if b, ok := bb.Buffered(); ok {
			res.busy.Store(false)
			h.closeResource(rid)
			if asText {
				return c.Return(decodeUTF8(b))
			}
			return c.Return(b)
		}
	}
	p, err := c.Promise()
	if err != nil {
		res.busy.Store(false)
		return err
	}
	go func() {
		var b []byte
		var err error
		if !res.eof {
			b, err = io.ReadAll(res.r)
		}
		res.busy.Store(false)
		h.closeResource(rid)
		switch {
		case err != nil:
			p.Reject(bodyError("body", err))
		case asText:
			p.Resolve(decodeUTF8(b))
		default:
			p.Resolve(b)
		}
	}()
	return nil
}

// decodeUTF8 is the Encoding standard's "UTF-8 decode": a leading BOM is
// dropped and each invalid byte becomes U+FFFD.
func decodeUTF8(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		sb.WriteRune(r)
		b = b[size:]
	}
	return sb.String()
}

// op_resource_close(rid) closes a body resource; unknown ids are ignored.
func opResourceClose(c *engine.Call) error {
	host(c).closeResource(int(c.Int(0)))
	return nil
}

// op_formdata_parse(bytes, boundary) parses a multipart/form-data body into
// a flat array of [name, filename|null, contentType, value] quadruples;
// value is a string for fields without a filename, bytes for files.
func opFormDataParse(c *engine.Call) error {
	body, ok := c.Bytes(0)
	if !ok {
		return engine.TypeError("op_formdata_parse: body is not bytes")
	}
	boundary := c.String(1)
	if !bytes.Contains(body, []byte("--"+boundary)) {
		return engine.TypeError("Failed to parse body as FormData: no multipart boundary %q", boundary)
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out []any
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return engine.TypeError("Failed to parse body as FormData: %v", err)
		}
		name := part.FormName()
		if name == "" {
			return engine.TypeError("Failed to parse body as FormData: a part has no name in Content-Disposition")
		}
		value, err := io.ReadAll(part)
		if err != nil {
			return engine.TypeError("Failed to parse body as FormData: %v", err)
		}
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if filename, isFile := params["filename"]; isFile {
			ct := part.Header.Get("Content-Type")
			if ct == "" {
				ct = "text/plain"
			}
			out = append(out, name, filename, ct, value)
		} else {
			out = append(out, name, nil, "", decodeUTF8(value))
		}
	}
	if out == nil {
		out = []any{}
	}
	return c.Return(out)
}

// op_respond(status, headersFlat, body) starts the response: body is a
// string or bytes for a whole body, null for none, or undefined to announce
// a streamed body sent with op_respond_write/op_respond_pipe and ended with
// op_respond_end.
func opRespond(c *engine.Call) error {
	h := host(c)
	st := &h.io.resp
	if h.Sink == nil {
		return engine.TypeError("respond: no response sink for this invocation")
	}
	if st.started {
		return engine.TypeError("respond: the response was already sent")
	}
	status := int(c.Int(0))
	header := HeaderLines(c.String(1))
	if err := header.Validate(); err != nil {
		return engine.TypeError("respond: %v", err)
	}
	var body []byte
	streamed := false
	arg := c.Arg(2)
	switch {
	case arg.IsUndefined():
		streamed = true
	case arg.IsNull():
	case arg.IsString():
		// The string is this op's own copy of the JS string, referenced
		// nowhere else, so its bytes can be the body without a second copy.
		if s := toUSV(c.String(2)); s != "" {
			body = unsafe.Slice(unsafe.StringData(s), len(s))
		} else {
			body = []byte{}
		}
	default:
		b, ok := c.Bytes(2)
		if !ok {
			return engine.TypeError("respond: body is not a string or bytes")
		}
		body = b
	}
	st.started, st.streamed, st.sink = true, streamed, h.Sink
	if err := h.Sink.Start(status, header, body, streamed); err != nil {
		return engine.TypeError("respond: sending headers: %v", err)
	}
	if !streamed {
		st.ended = true
	}
	return nil
}

// streamingSink returns the sink of a started streamed response, guarded
// so that writes stop once the invocation is reset.
func (h *Host) streamingSink(api string) (sinkWriter, error) {
	st := &h.io.resp
	if !st.started || !st.streamed {
		return sinkWriter{}, engine.TypeError("%s: no streamed response was started", api)
	}
	if st.ended {
		return sinkWriter{}, engine.TypeError("%s: the response has ended", api)
	}
	return sinkWriter{s: st.sink, h: h, gen: h.io.gen.Load()}, nil
}

// op_respond_write(chunk) writes a chunk of a streamed response and
// resolves once the sink took it, which paces JS to the client.
func opRespondWrite(c *engine.Call) error {
	h := host(c)
	sink, err := h.streamingSink("op_respond_write")
	if err != nil {
		return err
	}
	chunk, ok := c.Bytes(0)
	if !ok {
		return engine.TypeError("op_respond_write: chunk is not bytes")
	}
	p, err := c.Promise()
	if err != nil {
		return err
	}
	st := &h.io.resp
	go func() {
		st.writeMu.Lock()
		_, err := sink.Write(chunk)
		st.writeMu.Unlock()
		if err != nil {
			p.Reject(engine.TypeError("sending response body: %v", err))
			return
		}
		p.Resolve(engine.Undefined{})
	}()
	return nil
}

// op_respond_pipe(rid) copies a body resource to the streamed response in
// Go and resolves when the resource is exhausted (it is then closed).
func opRespondPipe(c *engine.Call) error {
	h := host(c)
	sink, err := h.streamingSink("op_respond_pipe")
	if err != nil {
		return err
	}
	rid := int(c.Int(0))
	res, err := h.takeResource(rid, "op_respond_pipe")
	if err != nil {
		return err
	}
	p, err := c.Promise()
	if err != nil {
		res.busy.Store(false)
		return err
	}
	st := &h.io.resp
	go func() {
		buf := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(buf)
		var err error
		if !res.eof {
			st.writeMu.Lock()
			_, err = io.CopyBuffer(sink, readerOnly{res.r}, *buf)
			st.writeMu.Unlock()
		}
		res.busy.Store(false)
		h.closeResource(rid)
		if err != nil {
			var we sinkWriteError
			if errors.As(err, &we) {
				p.Reject(engine.TypeError("sending response body: %v", we.err))
				return
			}
			p.Reject(bodyError("body", err))
			return
		}
		p.Resolve(engine.Undefined{})
	}()
	return nil
}

// readerOnly hides WriteTo so io.CopyBuffer uses the pooled buffer.
type readerOnly struct{ io.Reader }

// sinkWriter adapts a ResponseSink to io.Writer for one invocation
// (generation gen), marking its errors so a failed write is told apart from
// a failed read.
type sinkWriter struct {
	s   ResponseSink
	h   *Host
	gen uint64
}

type sinkWriteError struct{ err error }

func (e sinkWriteError) Error() string { return e.err.Error() }

var errInvocationEnded = errors.New("the invocation ended")

func (w sinkWriter) Write(p []byte) (int, error) {
	if w.h.io.gen.Load() != w.gen {
		return 0, sinkWriteError{errInvocationEnded}
	}
	if err := w.s.Write(p); err != nil {
		return 0, sinkWriteError{err}
	}
	return len(p), nil
}

// op_respond_end() ends a streamed response.
func opRespondEnd(c *engine.Call) error {
	h := host(c)
	sink, err := h.streamingSink("op_respond_end")
	if err != nil {
		return err
	}
	st := &h.io.resp
	st.ended = true
	st.writeMu.Lock()
	defer st.writeMu.Unlock()
	if err := sink.s.End(); err != nil {
		return engine.TypeError("ending response: %v", err)
	}
	return nil
}

// HeaderLines is a header list as the "name:value\n" lines JS produces:
// lowercase names, values as JS byte strings.
type HeaderLines string

// Validate checks that every line has a name.
func (h HeaderLines) Validate() error {
	return h.Each(func(string, string) {})
}

// Each calls fn for every header in order, with characters U+0080..U+00FF
// of values turned back into single bytes.
func (h HeaderLines) Each(fn func(name, value string)) error {
	flat := string(h)
	for len(flat) > 0 {
		line, rest, _ := strings.Cut(flat, "\n")
		flat = rest
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return fmt.Errorf("malformed header line %q", line)
		}
		fn(name, utf8ToLatin1(value))
	}
	return nil
}

// HTTP returns the headers as an http.Header with canonical keys.
func (h HeaderLines) HTTP() (http.Header, error) { return parseHeadersFlat(string(h)) }

// parseHeadersFlat parses "name:value\n" lines (the JS side's header list)
// into an http.Header with canonical keys. Values are JS byte strings that
// crossed as UTF-8; characters U+0080..U+00FF turn back into single bytes.
func parseHeadersFlat(flat string) (http.Header, error) {
	n := strings.Count(flat, "\n")
	h := make(http.Header, n)
	// One backing array for the values, as net/textproto does, so a
	// header with one value costs no allocation of its own.
	vals := make([]string, n)
	for i := 0; len(flat) > 0; i++ {
		line, rest, _ := strings.Cut(flat, "\n")
		flat = rest
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("malformed header line %q", line)
		}
		value = utf8ToLatin1(value)
		key := textproto.CanonicalMIMEHeaderKey(name)
		if old, ok := h[key]; ok {
			h[key] = append(old, value)
			continue
		}
		if i < len(vals) {
			vals[i] = value
			h[key] = vals[i : i+1 : i+1]
		} else {
			h[key] = []string{value}
		}
	}
	return h, nil
}

// FlattenHeaders writes h as the "name:value\n" lines entry.fetch takes:
// names lowercased, bytes 0x80..0xFF as the characters of the same code,
// values with a line break dropped.
func FlattenHeaders(h http.Header) string {
	var b strings.Builder
	size := 0
	for k, vs := range h {
		for _, v := range vs {
			size += len(k) + len(v) + 2
		}
	}
	b.Grow(size)
	for k, vs := range h {
		name := lowerASCII(k)
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				continue
			}
			b.WriteString(name)
			b.WriteByte(':')
			b.WriteString(latin1ToUTF8(v))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// latin1ToUTF8 reads s as bytes (a header value) and returns the UTF-8 of
// the characters with those codes, as the JS byte string holds them.
func latin1ToUTF8(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		b = utf8.AppendRune(b, rune(s[i]))
	}
	return string(b)
}

// utf8ToLatin1 undoes latin1ToUTF8; characters above U+00FF (the JS side
// rejects them) become '?'.
func utf8ToLatin1(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for _, r := range s[i:] {
		if r > 0xFF {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}
