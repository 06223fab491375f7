package webapi

import (
	"strings"

	"github.com/kumo-dev/kumo/internal/engine"
	whatwg "github.com/nlnwa/whatwg-url/url"
)

// The URL ops parse with github.com/nlnwa/whatwg-url, a Go implementation of
// the WHATWG URL Standard's basic URL parser (net/url follows RFC 3986 and
// disagrees with browsers on hundreds of the web-platform-tests cases).
// URLSearchParams is left to JavaScript (js/10_url.js): it is plain string
// work that would only pay for crossing into Go.

func urlOps() []engine.Op {
	return []engine.Op{
		{Name: "op_url_parse", Fn: opURLParse},
		{Name: "op_url_set", Fn: opURLSet},
	}
}

// urlParser holds only options, so one instance serves every VM.
var urlParser = whatwg.NewParser()

// urlSep separates the components of a parsed URL in the one string an op
// returns. A serialized URL never contains U+0000: every percent-encode set
// the parser applies includes the C0 controls, and hosts forbid them.
const urlSep = "\x00"

// urlComponents serializes u as the ops' result: href, protocol, username,
// password, host, hostname, port, pathname, search and hash joined by
// urlSep, the order js/10_url.js indexes them in.
func urlComponents(u *whatwg.Url) string {
	href := u.Href(false)
	var b strings.Builder
	b.Grow(2*len(href) + 16)
	for i, s := range [...]string{
		href, u.Protocol(), u.Username(), u.Password(), u.Host(),
		u.Hostname(), u.Port(), u.Pathname(), u.Search(), u.Hash(),
	} {
		if i > 0 {
			b.WriteString(urlSep)
		}
		b.WriteString(s)
	}
	return b.String()
}

// parseURL runs the basic URL parser on input against base, if given.
// https://url.spec.whatwg.org/#api-url-parser
func parseURL(input string, base *string) (*whatwg.Url, error) {
	if base == nil {
		return urlParser.Parse(input)
	}
	b, err := urlParser.Parse(*base)
	if err != nil {
		return nil, err
	}
	return urlParser.BasicParser(input, b, nil, whatwg.NoState)
}

// opURLParse(input, base?) parses input, against base when a second
// argument is passed, and returns the components (see urlComponents), or
// null when either fails to parse. It does not throw, so URL.canParse and
// URL.parse stay cheap; the URL constructor throws the TypeError.
func opURLParse(c *engine.Call) error {
	var base *string
	if c.Len() > 1 {
		b := c.String(1)
		base = &b
	}
	u, err := parseURL(c.String(0), base)
	if err != nil {
		return c.Return(nil)
	}
	return c.Return(urlComponents(u))
}

// opURLSet(href, setter, value) parses href, a URL's serialization, runs the
// named URL setter with value (the basic URL parser with the setter's state
// override) and returns the new components. Setters never fail: invalid
// values leave the URL as the parser leaves it, as the spec says.
// https://url.spec.whatwg.org/#urlutils-members
func opURLSet(c *engine.Call) error {
	u, err := urlParser.Parse(c.String(0))
	if err != nil {
		return engine.TypeError("Failed to set URL component: invalid URL record %q", c.String(0))
	}
	value := c.String(2)
	switch setter := c.String(1); setter {
	case "protocol":
		u.SetProtocol(value)
	case "username":
		u.SetUsername(value)
	case "password":
		u.SetPassword(value)
	case "host":
		u.SetHost(value)
	case "hostname":
		u.SetHostname(value)
	case "port":
		u.SetPort(value)
	case "pathname":
		u.SetPathname(value)
	case "search":
		u.SetSearch(value)
	case "hash":
		u.SetHash(value)
	default:
		return engine.TypeError("op_url_set: unknown URL setter %q", setter)
	}
	return c.Return(urlComponents(u))
}
