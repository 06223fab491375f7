package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SourceMap maps positions in a bundle back to the original files. It is
// immutable after ParseSourceMap and safe for concurrent use.
//
// The mappings are decoded here rather than with github.com/go-sourcemap/sourcemap
// (v2.1.4, checked): its lookup falls back to the previous line's last mapping for
// a position on an unmapped line (e.g. esbuild's `return __toCommonJS(...)` at the
// end of every bundle would map to the entry's last statement) and gives
// one-field segments the previous segment's source. Decoding is 80 lines.
type SourceMap struct {
	sources []string    // relative to the app folder, slash-separated
	lines   [][]segment // per generated line (0-based), sorted by genCol
}

// segment is one decoded mapping; all numbers 0-based.
type segment struct {
	genCol  int
	source  int // index into sources; -1 for a segment that maps to nothing
	srcLine int
	srcCol  int
}

// ParseSourceMap parses a source map v3 JSON document (not an index map with
// sections, which esbuild does not emit).
func ParseSourceMap(data []byte) (*SourceMap, error) {
	var raw struct {
		Version    int      `json:"version"`
		SourceRoot string   `json:"sourceRoot"`
		Sources    []string `json:"sources"`
		Mappings   string   `json:"mappings"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing source map: %w", err)
	}
	if raw.Version != 3 {
		return nil, fmt.Errorf("parsing source map: version %d, want 3", raw.Version)
	}
	m := &SourceMap{sources: make([]string, len(raw.Sources))}
	for i, s := range raw.Sources {
		if raw.SourceRoot != "" {
			s = path.Join(raw.SourceRoot, s)
		}
		m.sources[i] = s
	}
	lines, err := decodeMappings(raw.Mappings, len(raw.Sources))
	if err != nil {
		return nil, fmt.Errorf("parsing source map: %w", err)
	}
	m.lines = lines
	return m, nil
}

// decodeMappings decodes the "mappings" field: lines separated by ';', segments
// by ','; each segment is 1, 4 or 5 base64 VLQ numbers, relative to the same
// field of the previous segment (the generated column only within one line).
func decodeMappings(s string, nsources int) ([][]segment, error) {
	var (
		lines                   [][]segment
		source, srcLine, srcCol int
		fields                  [5]int
	)
	for lineText := range strings.SplitSeq(s, ";") {
		var segs []segment
		genCol := 0
		for segText := range strings.SplitSeq(lineText, ",") {
			if segText == "" {
				continue
			}
			n := 0
			for rest := segText; rest != ""; n++ {
				if n == len(fields) {
					return nil, fmt.Errorf("line %d: segment %q has more than 5 fields", len(lines)+1, segText)
				}
				v, r, err := decodeVLQ(rest)
				if err != nil {
					return nil, fmt.Errorf("line %d: segment %q: %w", len(lines)+1, segText, err)
				}
				fields[n], rest = v, r
			}
			genCol += fields[0]
			seg := segment{genCol: genCol, source: -1}
			switch n {
			case 1:
			case 4, 5: // the 5th field, a name index, is not needed
				source += fields[1]
				srcLine += fields[2]
				srcCol += fields[3]
				if source < 0 || source >= nsources || srcLine < 0 || srcCol < 0 {
					return nil, fmt.Errorf("line %d: segment %q points outside the sources", len(lines)+1, segText)
				}
				seg.source, seg.srcLine, seg.srcCol = source, srcLine, srcCol
			default:
				return nil, fmt.Errorf("line %d: segment %q has %d fields, want 1, 4 or 5", len(lines)+1, segText, n)
			}
			segs = append(segs, seg)
		}
		// The spec requires segments in column order; sorting costs little and
		// keeps Lookup's binary search right for maps that are not.
		slices.SortStableFunc(segs, func(a, b segment) int { return a.genCol - b.genCol })
		lines = append(lines, segs)
	}
	return lines, nil
}

const base64Digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// decodeVLQ decodes one base64 VLQ number from the front of s: 5 bits per digit,
// low bits first, bit 6 set on every digit but the last; the lowest bit of the
// whole is the sign.
func decodeVLQ(s string) (value int, rest string, err error) {
	var v, shift int
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base64Digits, s[i])
		if d < 0 {
			return 0, "", fmt.Errorf("invalid base64 digit %q", s[i])
		}
		if shift > 30 {
			return 0, "", errors.New("VLQ number too large")
		}
		v |= (d & 31) << shift
		shift += 5
		if d&32 == 0 {
			if v&1 != 0 {
				return -(v >> 1), s[i+1:], nil
			}
			return v >> 1, s[i+1:], nil
		}
	}
	return 0, "", errors.New("VLQ number cut short")
}

// Lookup maps a 1-based line and 1-based column of the bundle to the original
// file (relative to the app folder), line and column (1-based). A position
// between two mappings belongs to the one before it, as in every source map
// consumer; ok is false when no mapping on that line starts at or before col.
func (m *SourceMap) Lookup(line, col int) (file string, origLine, origCol int, ok bool) {
	if line < 1 || line > len(m.lines) || col < 1 {
		return "", 0, 0, false
	}
	segs := m.lines[line-1]
	// Source map columns are 0-based, the caller's are 1-based.
	i, found := slices.BinarySearchFunc(segs, col-1, func(s segment, c int) int { return s.genCol - c })
	if found {
		// Several segments may share a column; the last one wins, like the others.
		for i+1 < len(segs) && segs[i+1].genCol == col-1 {
			i++
		}
	} else {
		i-- // the last segment before col
	}
	if i < 0 || segs[i].source < 0 {
		return "", 0, 0, false
	}
	s := segs[i]
	return m.sources[s.source], s.srcLine + 1, s.srcCol + 1, true
}

// stackPosition matches "bundle.js:LINE:COL" where the file name starts a word
// or follows "(" or "@", so "mybundle.js:1:2" is left alone.
var stackPosition = regexp.MustCompile(`(^|[\s(@])` + regexp.QuoteMeta(BundleFileName) + `:(\d+):(\d+)`)

// RewriteStack rewrites every "bundle.js:LINE:COL" position in a stack trace
// (QuickJS frames look like "    at fetch (bundle.js:12:5)" or
// "    at bundle.js:12:5", columns 1-based) into "file:line:col" of the original
// source. Positions it cannot map stay as they are.
func (m *SourceMap) RewriteStack(stack string) string {
	return stackPosition.ReplaceAllStringFunc(stack, func(match string) string {
		sub := stackPosition.FindStringSubmatch(match)
		line, err1 := strconv.Atoi(sub[2])
		col, err2 := strconv.Atoi(sub[3])
		if err1 != nil || err2 != nil {
			return match
		}
		file, l, c, ok := m.Lookup(line, col)
		if !ok {
			return match
		}
		return fmt.Sprintf("%s%s:%d:%d", sub[1], file, l, c)
	})
}
