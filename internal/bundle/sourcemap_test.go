package bundle

import (
	"strconv"
	"strings"
	"testing"
)

func TestDecodeVLQ(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		rest string
	}{
		{"A", 0, ""},
		{"C", 1, ""},
		{"D", -1, ""},
		{"gB", 16, ""},
		{"2H", 123, ""},
		{"3H", -123, ""},
		{"CAAC", 1, "AAC"},
		{"+/////D", 1<<31 - 1, ""}, // the largest 32-bit signed value
	} {
		got, rest, err := decodeVLQ(tc.in)
		if err != nil || got != tc.want || rest != tc.rest {
			t.Errorf("decodeVLQ(%q) = %d, %q, %v; want %d, %q", tc.in, got, rest, err, tc.want, tc.rest)
		}
	}
	for _, bad := range []string{"", "g", "!", "gggggggggA"} {
		if v, _, err := decodeVLQ(bad); err == nil {
			t.Errorf("decodeVLQ(%q) = %d, want an error", bad, v)
		}
	}
}

// handMap: line 1 has two segments into a.ts; line 2 none; line 3 two into b.ts;
// line 4 starts with a one-field (unmapped) segment at column 2, then b.ts from
// column 4.
const handMap = `{"version":3,"sources":["a.ts","lib/b.ts"],"names":[],
  "mappings":"AAAA,EAAE;;ACCA,GAAG;E,EAAC"}`

func TestSourceMapLookup(t *testing.T) {
	m, err := ParseSourceMap([]byte(handMap))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line, col int
		want      string // "file:line:col", or "" for unmapped
	}{
		{1, 1, "a.ts:1:1"},
		{1, 2, "a.ts:1:1"},
		{1, 3, "a.ts:1:3"},
		{1, 100, "a.ts:1:3"},
		{2, 1, ""},
		{3, 1, "lib/b.ts:2:3"},
		{3, 3, "lib/b.ts:2:3"},
		{3, 4, "lib/b.ts:2:6"},
		{4, 1, ""}, // before the line's first segment: not the previous line's
		{4, 3, ""}, // the one-field segment maps to nothing
		{4, 5, "lib/b.ts:2:7"},
		{5, 1, ""},
		{0, 1, ""},
		{1, 0, ""},
	} {
		file, l, c, ok := m.Lookup(tc.line, tc.col)
		got := ""
		if ok {
			got = file + ":" + strconv.Itoa(l) + ":" + strconv.Itoa(c)
		}
		if got != tc.want {
			t.Errorf("Lookup(%d, %d) = %q, want %q", tc.line, tc.col, got, tc.want)
		}
	}
}

func TestRewriteStack(t *testing.T) {
	m, err := ParseSourceMap([]byte(handMap))
	if err != nil {
		t.Fatal(err)
	}
	stack := strings.Join([]string{
		"Error: boom at bundle.js:1:3",
		"    at fetch (bundle.js:3:4)",
		"    at bundle.js:4:5",
		"    at <anonymous> (bundle.js:2:1)", // unmapped: stays
		"    at other (mybundle.js:1:1)",     // another file: stays
		"    at native",
		"bundle.js:1:1",
	}, "\n")
	want := strings.Join([]string{
		"Error: boom at a.ts:1:3",
		"    at fetch (lib/b.ts:2:6)",
		"    at lib/b.ts:2:7",
		"    at <anonymous> (bundle.js:2:1)",
		"    at other (mybundle.js:1:1)",
		"    at native",
		"a.ts:1:1",
	}, "\n")
	if got := m.RewriteStack(stack); got != want {
		t.Errorf("RewriteStack =\n%s\nwant\n%s", got, want)
	}
}

func TestParseSourceMapErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":        `{`,
		"version 2":       `{"version":2,"sources":[],"mappings":""}`,
		"bad digit":       `{"version":3,"sources":["a"],"mappings":"A!AA"}`,
		"two fields":      `{"version":3,"sources":["a"],"mappings":"AA"}`,
		"six fields":      `{"version":3,"sources":["a"],"mappings":"AAAAAA"}`,
		"source past end": `{"version":3,"sources":["a"],"mappings":"ACAA"}`,
	} {
		if _, err := ParseSourceMap([]byte(in)); err == nil {
			t.Errorf("%s: ParseSourceMap succeeded, want an error", name)
		}
	}
}
