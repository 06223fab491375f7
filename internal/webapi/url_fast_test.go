package webapi

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// wptURLInputs returns the input of every case of urltestdata.json (base
// or not) and every base, as strings.
func wptURLInputs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("testdata/wpt/url/urltestdata.json")
	if err != nil {
		t.Fatal(err)
	}
	var items []any
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		c, ok := it.(map[string]any)
		if !ok {
			continue
		}
		for _, key := range []string{"input", "base", "href"} {
			if s, ok := c[key].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// fullURLComponents parses input with the full parser.
func fullURLComponents(input string) ([urlFields]string, bool) {
	u, err := parseURL(input, nil)
	if err != nil {
		return [urlFields]string{}, false
	}
	return urlComponentsOf(u), true
}

// checkFastParse fails when fastParseURL answers for input and the full
// parser disagrees; it reports whether the fast path answered.
func checkFastParse(t *testing.T, input string) bool {
	t.Helper()
	var fast [urlFields]string
	if !fastParseURL(input, &fast) {
		return false
	}
	full, ok := fullURLComponents(input)
	if !ok {
		t.Errorf("%q: fast path parsed it, the parser fails", input)
	} else if fast != full {
		t.Errorf("%q:\n fast %q\n full %q", input, fast, full)
	}
	return true
}

// fastURLParts are what random URLs are made of, part by part: the
// pieces of shapes the fast path accepts, then the ones it must leave to
// the parser (or that the parser changes).
var fastURLParts = []struct{ good, bad []string }{
	{[]string{"http://", "https://"},
		[]string{"HTTP://", "http:", "http:/", "https:///", "ws://", "http:\\\\", " http://", "\thttp://", "http://\n"}},
	{[]string{"a.b", "example.com", "127.0.0.1", "255.255.255.255", "a-b.c", "a.123b", "0.0.0.0", "x1.y2.z3", "localhost", "1.2.3.com"},
		[]string{"256.1.1.1", "1.2.3", "0x7f.1", "1.2.3.04", "01.2.3.4", "1.2.3.4.", "xn--nxasmq6b.com", "xn--a.b", "-a.b", "a-.b",
			"a--b.c", "a..b", "a.b.", ".a.b", "EXAMPLE.com", "[::1]", "u:p@h", "@h", "h%41", "h\u00e9", "a_b.c", "0x", "a.0x1",
			"a.123", strings.Repeat("a", 64) + ".b", ""}},
	{[]string{"", ":0", ":8787", ":65535", ":1"},
		[]string{":80", ":443", ":080", ":65536", ":", ":1x", ":00"}},
	{[]string{"", "/", "/a", "/a/b", "/.a", "/..a", "/...", "/a.", "/%41", "/:@;=,+$!*()~_-'", "//", "/a//b", "/a.b/c..d/"},
		[]string{"/.", "/..", "/./", "/../", "/a/./b", "/a/../b", "/%2e", "/%2E/", "/.%2e", "/%", "/%4", "/%zz", "/a\\b",
			"/a^b", "/a|b", "/a[b]", "/{}", "/`", "/\"", "/<>", "/ a", "/a\tb", "/\u00e9", "/a\x00"}},
	{[]string{"", "?", "?a=1", "?a=1&b=2", "?`{}|^[]\\", "?%zz", "??", "?a=%41&b=+", "?/a/./b"},
		[]string{"?a b", "?'", "?\"", "?<>", "?\u00e9", "?\x7f"}},
	{[]string{"", "#", "#f", "#a#b", "#'", "#{}|^[]\\", "#?", "#/./"},
		[]string{"#\"", "#<>", "#`", "# ", "#\u00e9"}},
}

// TestFastParseURL checks that fastParseURL and the full parser agree on
// every input of the WPT URL data and on random URLs made of pieces of
// the shapes it accepts and the ones it must refuse.
func TestFastParseURL(t *testing.T) {
	answered := 0
	for _, input := range wptURLInputs(t) {
		if checkFastParse(t, input) {
			answered++
		}
	}
	t.Logf("WPT inputs the fast path answered: %d", answered)

	rng := rand.New(rand.NewPCG(1, 2))
	answered = 0
	const n = 200_000
	for range n {
		var b strings.Builder
		for _, part := range fastURLParts {
			for k := 1 + rng.IntN(4)/3; k > 0; k-- { // sometimes two pieces of a part
				if rng.IntN(8) == 0 {
					b.WriteString(part.bad[rng.IntN(len(part.bad))])
				} else {
					b.WriteString(part.good[rng.IntN(len(part.good))])
				}
			}
		}
		if checkFastParse(t, b.String()) {
			answered++
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("random inputs the fast path answered: %d of %d", answered, n)
	if answered < n/5 {
		t.Errorf("the fast path answered only %d random inputs: the generator no longer exercises it", answered)
	}
	for _, input := range []string{"http://127.0.0.1:8787/?name=kumo", "https://example.com", "https://api.example.com/v1/users/42?fields=name&sort=asc#top"} {
		if !checkFastParse(t, input) {
			t.Errorf("%q: fast path refused it", input)
		}
	}
}

// decodeURLRecord reads a record as 10_url.js does: the header's offsets
// count UTF-16 code units from the record's start.
func decodeURLRecord(t *testing.T, rec string) [urlFields]string {
	t.Helper()
	if !strings.HasPrefix(rec, string(rune(urlRecordHeader))) {
		parts := strings.Split(rec, urlSep)
		if len(parts) != urlFields {
			t.Fatalf("joined form with %d parts", len(parts))
		}
		return [urlFields]string(parts)
	}
	units := []rune(rec) // every character is below U+D800: one unit each
	var c [urlFields]string
	for i := range urlFields {
		start, end := int(units[2*i]), int(units[2*i+1])
		c[i] = string(units[start:end])
	}
	return c
}

// TestURLRecord checks that a record decodes to the components it was
// made from, and that op_url_query_parse finds its query: for every WPT URL, for components the serializer would not
// put where they are (the fallback), and for a URL too long for the
// record (the joined form).
func TestURLRecord(t *testing.T) {
	check := func(c [urlFields]string) {
		t.Helper()
		rec := urlRecord(&c)
		if !utf8.ValidString(rec) {
			t.Fatalf("record of %q is not UTF-8", c[urlHref])
		}
		if got := decodeURLRecord(t, rec); got != c {
			t.Errorf("record of %q:\n got  %q\n want %q", c[urlHref], got, c)
		}
		if q, ok := urlRecordQuery(rec); strings.HasPrefix(rec, string(rune(urlRecordHeader))) &&
			(!ok || q != strings.TrimPrefix(c[urlSearch], "?")) {
			t.Errorf("query of the record of %q: %q, %v", c[urlHref], q, ok)
		}
	}
	for _, input := range wptURLInputs(t) {
		if c, ok := fullURLComponents(input); ok {
			check(c)
		}
	}
	check([urlFields]string{"http://h/p", "http:", "u", "p", "x:1", "x", "1", "/q", "?s", "#h"})
	check([urlFields]string{"sc:", "sc:", "", "", "", "", "", "", "", ""})
	long, _ := fullURLComponents("http://h/?q=" + strings.Repeat("a", urlRecordMax))
	check(long)
	if rec := urlRecord(&long); strings.HasPrefix(rec, string(rune(urlRecordHeader))) {
		t.Errorf("a %d-byte URL got a record", len(long[urlHref]))
	}
}
