package webapi

import (
	"container/heap"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kumo-dev/kumo/internal/engine"
)

// coreOps are the Go halves of the core layers: encoding (05_encoding.js),
// crypto (11_crypto.js), timers (12_timers.js) and performance
// (13_performance.js).
func coreOps() []engine.Op {
	return []engine.Op{
		{Name: "op_encoding_encode", Fn: opEncodingEncode},
		{Name: "op_encoding_encode_into", Fn: opEncodingEncodeInto},
		{Name: "op_encoding_decode", Fn: opEncodingDecode},
		{Name: "op_encoding_btoa", Fn: opEncodingBtoa},
		{Name: "op_encoding_atob", Fn: opEncodingAtob},
		{Name: "op_crypto_random", Fn: opCryptoRandom},
		{Name: "op_crypto_digest", Fn: opCryptoDigest},
		{Name: "op_crypto_sign", Fn: opCryptoSign},
		{Name: "op_crypto_verify", Fn: opCryptoVerify},
		{Name: "op_timer_start", Fn: opTimerStart},
		{Name: "op_timer_cancel", Fn: opTimerCancel},
		{Name: "op_timer_now", Fn: opTimerNow},
	}
}

// ---- encoding

// toUSV returns s with each lone surrogate as U+FFFD, the USVString
// conversion of https://webidl.spec.whatwg.org/#es-USVString. Strings from
// the engine are already converted; this also covers WTF-8 from elsewhere
// (ED A0..BF xx encodes a surrogate).
func toUSV(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if i+2 < len(s) && s[i] == 0xED && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2] >= 0x80 && s[i+2] <= 0xBF {
				n = 3
			}
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// opEncodingEncode(string) returns its UTF-8 bytes (TextEncoder.encode).
// The engine hands strings over as UTF-8 with lone surrogates already
// replaced by U+FFFD (the USVString conversion).
func opEncodingEncode(c *engine.Call) error {
	return c.Return([]byte(c.String(0)))
}

// opEncodingEncodeInto(string, capacity) returns [read, bytes]: the UTF-8
// of the longest prefix of whole code points that fits in capacity bytes,
// and how many UTF-16 code units that prefix is (TextEncoder.encodeInto).
func opEncodingEncodeInto(c *engine.Call) error {
	s := c.String(0)
	capacity := int(c.Int(1))
	out := make([]byte, 0, min(capacity, len(s)))
	read := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if len(out)+n > capacity {
			break
		}
		out = append(out, s[i:i+n]...)
		if r >= 0x10000 {
			read += 2
		} else {
			read++
		}
		i += n
	}
	return c.Return([]any{read, out})
}

// opEncodingDecode(encoding, bytes, fatal, stripBOM, stream) decodes bytes
// (TextDecoder.decode). Without stream it returns the text; with stream it
// returns [text, consumed], leaving an incomplete sequence at the end
// unconsumed for the next call.
func opEncodingDecode(c *engine.Call) error {
	enc := c.String(0)
	b, ok := c.Bytes(1)
	if !ok {
		return engine.TypeError("TextDecoder.decode: input is not a BufferSource")
	}
	fatal, stripBOM, stream := c.Bool(2), c.Bool(3), c.Bool(4)
	var (
		text     string
		consumed int
		bad      bool
	)
	switch enc {
	case "utf-8":
		text, consumed, bad = textDecodeUTF8(b, fatal, stripBOM, stream)
	case "utf-16le":
		text, consumed, bad = textDecodeUTF16(b, false, fatal, stripBOM, stream)
	case "utf-16be":
		text, consumed, bad = textDecodeUTF16(b, true, fatal, stripBOM, stream)
	case "windows-1252":
		text, consumed = textDecodeWindows1252(b), len(b)
	default:
		return engine.RangeError("TextDecoder.decode: unsupported encoding %q", enc)
	}
	if bad {
		return engine.TypeError("TextDecoder.decode: the encoded data is not valid %s", enc)
	}
	if stream {
		return c.Return([]any{text, consumed})
	}
	return c.Return(text)
}

// textDecodeUTF8 is https://encoding.spec.whatwg.org/#utf-8-decoder: each
// maximal invalid subpart becomes one U+FFFD (or fails when fatal).
func textDecodeUTF8(b []byte, fatal, stripBOM, stream bool) (string, int, bool) {
	i := 0
	if stripBOM && len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		i = 3
	}
	if utf8.Valid(b[i:]) {
		return string(b[i:]), len(b), false
	}
	var out strings.Builder
	out.Grow(len(b) - i)
	n := len(b)
	for i < n {
		c := b[i]
		if c < 0x80 {
			start := i
			for i < n && b[i] < 0x80 {
				i++
			}
			out.Write(b[start:i])
			continue
		}
		need, lower, upper := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lower = 2, 0xA0
		case c == 0xED:
			need, upper = 2, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			need = 2
		case c == 0xF0:
			need, lower = 3, 0x90
		case c == 0xF4:
			need, upper = 3, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			need = 3
		default:
			if fatal {
				return "", 0, true
			}
			out.WriteRune(utf8.RuneError)
			i++
			continue
		}
		j := 1
		for ; j <= need; j++ {
			if i+j >= n {
				break
			}
			x := b[i+j]
			lo, hi := byte(0x80), byte(0xBF)
			if j == 1 {
				lo, hi = lower, upper
			}
			if x < lo || x > hi {
				break
			}
		}
		if j > need {
			out.Write(b[i : i+need+1])
			i += need + 1
			continue
		}
		if i+j >= n && stream {
			// An incomplete sequence at the end waits for more bytes.
			return out.String(), i, false
		}
		if fatal {
			return "", 0, true
		}
		out.WriteRune(utf8.RuneError)
		i += j
	}
	return out.String(), n, false
}

// textDecodeUTF16 is https://encoding.spec.whatwg.org/#shared-utf-16-decoder.
func textDecodeUTF16(b []byte, bigEndian, fatal, stripBOM, stream bool) (string, int, bool) {
	unit := func(i int) uint16 {
		if bigEndian {
			return uint16(b[i])<<8 | uint16(b[i+1])
		}
		return uint16(b[i+1])<<8 | uint16(b[i])
	}
	i := 0
	if stripBOM && len(b) >= 2 && unit(0) == 0xFEFF {
		i = 2
	}
	var out strings.Builder
	out.Grow(len(b) - i)
	n := len(b)
	for i+1 < n {
		u := unit(i)
		switch {
		case u < 0xD800 || u > 0xDFFF:
			out.WriteRune(rune(u))
			i += 2
		case u <= 0xDBFF:
			if i+3 >= n {
				if stream {
					return out.String(), i, false
				}
				if fatal {
					return "", 0, true
				}
				out.WriteRune(utf8.RuneError)
				i += 2
				continue
			}
			u2 := unit(i + 2)
			if u2 >= 0xDC00 && u2 <= 0xDFFF {
				out.WriteRune(0x10000 + (rune(u)-0xD800)<<10 + rune(u2) - 0xDC00)
				i += 4
				continue
			}
			if fatal {
				return "", 0, true
			}
			out.WriteRune(utf8.RuneError)
			i += 2
		default: // a lone low surrogate
			if fatal {
				return "", 0, true
			}
			out.WriteRune(utf8.RuneError)
			i += 2
		}
	}
	if i < n { // an odd byte at the end
		if stream {
			return out.String(), i, false
		}
		if fatal {
			return "", 0, true
		}
		out.WriteRune(utf8.RuneError)
	}
	return out.String(), n, false
}

// windows1252Table maps bytes 0x80..0x9F
// (https://encoding.spec.whatwg.org/index-windows-1252.txt); every other
// byte is its own code point.
var windows1252Table = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

func textDecodeWindows1252(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for _, c := range b {
		switch {
		case c < 0x80:
			out.WriteByte(c)
		case c < 0xA0:
			out.WriteRune(windows1252Table[c-0x80])
		default:
			out.WriteRune(rune(c))
		}
	}
	return out.String()
}

// opEncodingBtoa(data) is https://html.spec.whatwg.org/multipage/webappapis.html#dom-btoa.
func opEncodingBtoa(c *engine.Call) error {
	s := c.String(0)
	buf := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return engine.DOMException("InvalidCharacterError", "btoa: the string to be encoded contains characters outside of the Latin1 range")
		}
		buf = append(buf, byte(r))
	}
	return c.Return(base64.StdEncoding.EncodeToString(buf))
}

// opEncodingAtob(data) is https://html.spec.whatwg.org/multipage/webappapis.html#dom-atob
// with https://infra.spec.whatwg.org/#forgiving-base64-decode.
func opEncodingAtob(c *engine.Call) error {
	s := c.String(0)
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\t', '\n', '\f', '\r', ' ':
		default:
			clean = append(clean, ch)
		}
	}
	if len(clean)%4 == 0 {
		if len(clean) > 0 && clean[len(clean)-1] == '=' {
			clean = clean[:len(clean)-1]
			if len(clean) > 0 && clean[len(clean)-1] == '=' {
				clean = clean[:len(clean)-1]
			}
		}
	}
	invalid := engine.DOMException("InvalidCharacterError", "atob: the string to be decoded is not correctly encoded")
	if len(clean)%4 == 1 {
		return invalid
	}
	for _, ch := range clean {
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '+' || ch == '/') {
			return invalid
		}
	}
	out, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil {
		return invalid
	}
	text := make([]rune, len(out))
	for i, b := range out {
		text[i] = rune(b)
	}
	return c.Return(string(text))
}

// ---- crypto

// maxRandomBytes is the getRandomValues quota
// (https://w3c.github.io/webcrypto/#Crypto-method-getRandomValues).
const maxRandomBytes = 65536

// opCryptoRandom(n) returns n random bytes.
func opCryptoRandom(c *engine.Call) error {
	n := c.Int(0)
	if n < 0 || n > maxRandomBytes {
		return engine.DOMException("QuotaExceededError", "crypto.getRandomValues: the ArrayBufferView's byte length (%d) exceeds the number of bytes of entropy available via this API (%d)", n, maxRandomBytes)
	}
	b := make([]byte, n)
	rand.Read(b)
	return c.Return(b)
}

func digestHash(api, name string) (func() hash.Hash, error) {
	switch name {
	case "SHA-1":
		return sha1.New, nil
	case "SHA-256":
		return sha256.New, nil
	case "SHA-384":
		return sha512.New384, nil
	case "SHA-512":
		return sha512.New, nil
	}
	return nil, engine.DOMException("NotSupportedError", "%s: unsupported algorithm %q", api, name)
}

// opCryptoDigest(algorithm, data) returns the digest of data.
func opCryptoDigest(c *engine.Call) error {
	h, err := digestHash("crypto.subtle.digest", c.String(0))
	if err != nil {
		return err
	}
	data, ok := c.Bytes(1)
	if !ok {
		return engine.TypeError("crypto.subtle.digest: data is not a BufferSource")
	}
	d := h()
	d.Write(data)
	return c.Return(d.Sum(nil))
}

// hmacSum computes the signature for opCryptoSign and opCryptoVerify: the
// arguments are (algorithm, hash, key, data).
func hmacSum(c *engine.Call, api string) ([]byte, error) {
	if alg := c.String(0); alg != "HMAC" {
		return nil, engine.DOMException("NotSupportedError", "%s: unsupported algorithm %q", api, alg)
	}
	h, err := digestHash(api, c.String(1))
	if err != nil {
		return nil, err
	}
	key, ok1 := c.Bytes(2)
	data, ok2 := c.Bytes(3)
	if !ok1 || !ok2 {
		return nil, engine.TypeError("%s: key and data must be BufferSources", api)
	}
	m := hmac.New(h, key)
	m.Write(data)
	return m.Sum(nil), nil
}

// opCryptoSign(algorithm, hash, key, data) returns the signature.
func opCryptoSign(c *engine.Call) error {
	sig, err := hmacSum(c, "crypto.subtle.sign")
	if err != nil {
		return err
	}
	return c.Return(sig)
}

// opCryptoVerify(algorithm, hash, key, data, signature) compares in
// constant time.
func opCryptoVerify(c *engine.Call) error {
	sig, err := hmacSum(c, "crypto.subtle.verify")
	if err != nil {
		return err
	}
	want, ok := c.Bytes(4)
	if !ok {
		return engine.TypeError("crypto.subtle.verify: signature is not a BufferSource")
	}
	return c.Return(subtle.ConstantTimeCompare(sig, want) == 1)
}

// ---- timers

// timerTable is a Host's timers. Due timers are handed to JavaScript one at
// a time, in (deadline, creation) order: the next is settled only after
// the script acknowledges the previous one (by starting or cancelling that
// id again), so each timer callback runs in its own event-loop turn with
// its microtasks drained before the next, as in
// https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timers.
type timerTable struct {
	mu     sync.Mutex
	queue  timerQueue
	byID   map[int64]*timerEntry
	seq    uint64
	clock  *time.Timer
	firing int64 // the id handed to JS and not yet acknowledged; 0: none
	origin time.Time
}

type timerEntry struct {
	id    int64
	when  time.Time
	seq   uint64
	p     *engine.Pending
	index int
}

type timerQueue []*timerEntry

func (q timerQueue) Len() int { return len(q) }
func (q timerQueue) Less(i, j int) bool {
	if !q[i].when.Equal(q[j].when) {
		return q[i].when.Before(q[j].when)
	}
	return q[i].seq < q[j].seq
}
func (q timerQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *timerQueue) Push(x any) {
	e := x.(*timerEntry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *timerQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	e.index = -1
	return e
}

// now returns milliseconds since the table's origin, set at first use.
func (t *timerTable) now() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.origin.IsZero() {
		t.origin = time.Now()
	}
	return float64(time.Since(t.origin).Microseconds()) / 1000
}

// ack releases the hand-off gate if id is the timer being fired.
// Called with mu held.
func (t *timerTable) ack(id int64) {
	if t.firing == id {
		t.firing = 0
	}
}

// start adds a timer settling p after d. Called with mu held.
func (t *timerTable) start(id int64, d time.Duration, p *engine.Pending) {
	if t.byID == nil {
		t.byID = make(map[int64]*timerEntry)
	}
	if old := t.byID[id]; old != nil {
		heap.Remove(&t.queue, old.index)
		old.p.Forget()
	}
	t.seq++
	e := &timerEntry{id: id, when: time.Now().Add(d), seq: t.seq, p: p}
	t.byID[id] = e
	heap.Push(&t.queue, e)
}

// cancel drops the timer id. Called with mu held.
func (t *timerTable) cancel(id int64) {
	if e := t.byID[id]; e != nil {
		heap.Remove(&t.queue, e.index)
		delete(t.byID, id)
		e.p.Forget()
	}
}

// schedule fires the earliest timer if it is due and the gate is open,
// else arms the clock for it. Called with mu held.
func (t *timerTable) schedule() {
	if t.firing != 0 || len(t.queue) == 0 {
		return
	}
	e := t.queue[0]
	wait := time.Until(e.when)
	if wait <= 0 {
		heap.Pop(&t.queue)
		delete(t.byID, e.id)
		t.firing = e.id
		e.p.Resolve(e.id)
		return
	}
	if t.clock == nil {
		t.clock = time.AfterFunc(wait, t.tick)
	} else {
		t.clock.Reset(wait)
	}
}

func (t *timerTable) tick() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.schedule()
}

// stop cancels every timer.
func (t *timerTable) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.clock != nil {
		t.clock.Stop()
	}
	for id := range t.byID {
		t.cancel(id)
	}
	t.firing = 0
}

// maxTimerDelay caps a delay (2^31-1 ms, as browsers do after the WebIDL
// long conversion in JS).
const maxTimerDelay = 1<<31 - 1

// opTimerStart(id, ms) returns a promise that resolves with id after ms
// milliseconds. Starting an id again replaces its timer, and acknowledges
// it if it was the one being fired (an interval re-arming).
func opTimerStart(c *engine.Call) error {
	id := c.Int(0)
	ms := c.Int(1)
	if id <= 0 {
		return engine.TypeError("setTimeout: invalid timer id %d", id)
	}
	ms = max(0, min(ms, maxTimerDelay))
	p, err := c.Promise()
	if err != nil {
		return err
	}
	t := &host(c).timers
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ack(id)
	t.start(id, time.Duration(ms)*time.Millisecond, p)
	t.schedule()
	return nil
}

// opTimerCancel(id) cancels the timer id (clearTimeout) or acknowledges it
// after it fired.
func opTimerCancel(c *engine.Call) error {
	id := c.Int(0)
	t := &host(c).timers
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cancel(id)
	t.ack(id)
	t.schedule()
	return nil
}

// opTimerNow() returns milliseconds since the instance started, with
// microsecond resolution (performance.now).
func opTimerNow(c *engine.Call) error {
	return c.Return(host(c).timers.now())
}
