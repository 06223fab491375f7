package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseDevVars parses a .dev.vars file: KEY=VALUE lines as dotenv files
// have them. Blank lines and lines starting with # are skipped, as is a
// leading "export ". A value in double quotes may hold the escapes \n, \r,
// \t, \" and \\; one in single quotes is taken as is; an unquoted value is
// trimmed and ends at " #". Errors name the line, never a value.
func ParseDevVars(data []byte) (map[string]string, error) {
	out := make(map[string]string)
	for i, line := range strings.Split(string(data), "\n") {
		at := fmt.Sprintf("%s:%d", DevVarsFile, i+1)
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, fmt.Errorf("%s: want KEY=VALUE", at)
		}
		if err := ValidSecretName(key); err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		val = strings.TrimSpace(val)
		switch {
		case strings.HasPrefix(val, `"`):
			end := closingQuote(val)
			if end < 0 {
				return nil, fmt.Errorf("%s: %s: the double quote is not closed (values span one line; write \\n)", at, key)
			}
			uq, err := strconv.Unquote(val[:end+1])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: bad escape in the quoted value", at, key)
			}
			val = uq
		case strings.HasPrefix(val, "'"):
			end := strings.IndexByte(val[1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%s: %s: the single quote is not closed", at, key)
			}
			val = val[1 : end+1]
		default:
			if j := strings.Index(val, " #"); j >= 0 {
				val = strings.TrimSpace(val[:j])
			}
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s: %s is set twice", at, key)
		}
		out[key] = val
	}
	return out, nil
}

// closingQuote returns the index of the double quote that closes the one
// at s[0], skipping escaped ones; -1 when there is none.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}
