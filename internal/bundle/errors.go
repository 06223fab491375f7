package bundle

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/evanw/esbuild/pkg/api"
)

// Error lists every problem esbuild found in the app, each with its position.
type Error struct {
	Problems []Problem
}

// Problem is one error in the app's code.
type Problem struct {
	File     string // relative to the app folder, slash-separated; "" when esbuild gave no position
	Line     int    // 1-based
	Column   int    // 1-based, in characters (not bytes)
	Text     string
	LineText string // the source line, for showing context
}

// Error prints one "file:line:col: message" per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// String formats the problem as "file:line:col: message".
func (p Problem) String() string {
	if p.File == "" {
		return p.Text
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Text)
}

func newError(msgs []api.Message) *Error {
	e := &Error{Problems: make([]Problem, 0, len(msgs))}
	for _, m := range msgs {
		p := Problem{Text: problemText(m)}
		if loc := m.Location; loc != nil {
			p.File = loc.File
			p.Line = loc.Line
			p.LineText = loc.LineText
			// esbuild's column is a 0-based byte offset into the line; people and
			// editors count characters from 1.
			col := min(max(loc.Column, 0), len(loc.LineText))
			p.Column = utf8.RuneCountInString(loc.LineText[:col]) + 1
		}
		e.Problems = append(e.Problems, p)
	}
	return e
}

// problemText rewrites esbuild's messages where its wording or its notes would
// mislead a Kumo user: its notes suggest esbuild settings ("use platform node",
// "mark it external") that the user cannot change, so they are dropped.
func problemText(m api.Message) string {
	spec, ok := unresolvedSpecifier(m.Text)
	if !ok {
		return m.Text
	}
	builtin := strings.HasPrefix(spec, "node:")
	for _, n := range m.Notes {
		if strings.Contains(n.Text, "built into node") {
			builtin = true
		}
	}
	switch {
	case builtin:
		return fmt.Sprintf("cannot import %q: Node built-in modules are not available in Kumo (it runs code with Web APIs, like a browser or a Worker)", spec)
	case isBareSpecifier(spec):
		return fmt.Sprintf("%s (is the package installed in node_modules?)", m.Text)
	default:
		return m.Text
	}
}

// unresolvedSpecifier extracts X from esbuild's `Could not resolve "X"`.
func unresolvedSpecifier(text string) (string, bool) {
	const prefix = `Could not resolve "`
	if !strings.HasPrefix(text, prefix) || !strings.HasSuffix(text, `"`) {
		return "", false
	}
	return text[len(prefix) : len(text)-1], true
}

func isBareSpecifier(spec string) bool {
	return !strings.HasPrefix(spec, ".") && !strings.HasPrefix(spec, "/")
}
