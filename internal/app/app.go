// Package app is the model of deployed apps shared by the control plane
// (which writes it) and the nodes (which watch and serve it): the records
// stored in kumo_meta, their keys, and the canonical encoding of a
// version's content, whose hash is the version id.
//
// The package imports nothing of Kumo's own so both sides can use it
// freely; package appruntime turns these records into runtime specs.
// docs/store-schema.md is the contract these types implement.
package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// MaxNameLen is the longest app name.
const MaxNameLen = 63

// ValidName reports, as an error naming the problem, whether name is a valid
// app name: [a-z0-9][a-z0-9-]{0,62}.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("app name is empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("app name %q is longer than %d characters", name, MaxNameLen)
	case name[0] == '-':
		return fmt.Errorf("app name %q must start with a lowercase letter or digit", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("app name %q: character %q not allowed (use a-z, 0-9 and -)", name, rune(c))
		}
	}
	return nil
}

// MaxHostLen is the longest hostname (RFC 1035).
const MaxHostLen = 253

// NormalizeHost lowercases host and drops a trailing dot and a port, the
// form in which hosts are claimed and matched.
func NormalizeHost(host string) string {
	host = strings.ToLower(strings.TrimSpace(host))
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".")
}

// ValidHost reports whether host (normalized) is a DNS name Kumo can
// claim: dot-separated labels of a-z, 0-9 and '-', not starting or ending
// with '-'. Underscores are refused because HostKey maps dots to them.
func ValidHost(host string) error {
	if host == "" {
		return fmt.Errorf("host is empty")
	}
	if len(host) > MaxHostLen {
		return fmt.Errorf("host %q is longer than %d characters", host, MaxHostLen)
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q: labels must be 1 to 63 characters", host)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q: a label must not start or end with '-'", host)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q: character %q not allowed", host, rune(c))
			}
		}
	}
	return nil
}

// ValidVersionID reports whether id has the form of a version id: 64
// lowercase hex characters.
func ValidVersionID(id string) bool {
	if len(id) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ShortIDLen is how many characters of a version id people are shown.
const ShortIDLen = 12

// ShortID is the first ShortIDLen characters of a version id.
func ShortID(id string) string {
	if len(id) > ShortIDLen {
		return id[:ShortIDLen]
	}
	return id
}

// Keys of kumo_meta (see docs/store-schema.md).

// AppKey is the key of app's AppRecord.
func AppKey(app string) string { return "apps." + app }

// AppsPrefix is the prefix of every AppRecord key.
const AppsPrefix = "apps"

// VersionKey is the key of one VersionRecord.
func VersionKey(app, id string) string { return "versions." + app + "." + id }

// VersionsPrefix is the prefix of every VersionRecord key of app.
func VersionsPrefix(app string) string { return "versions." + app }

// HostKey is the key of a host claim; dots become underscores because dots
// separate key tokens.
func HostKey(host string) string { return "hosts." + strings.ReplaceAll(host, ".", "_") }

// HostsPrefix is the prefix of every host claim key.
const HostsPrefix = "hosts"

// HostFromKey inverts HostKey; ok is false for keys outside hosts.
func HostFromKey(key string) (host string, ok bool) {
	rest, ok := strings.CutPrefix(key, HostsPrefix+".")
	if !ok {
		return "", false
	}
	return strings.ReplaceAll(rest, "_", "."), true
}

// TokenKey is the key of the TokenRecord of a token's SHA-256 (hex).
func TokenKey(hash string) string { return "tokens." + hash }

// TokensPrefix is the prefix of every TokenRecord key.
const TokensPrefix = "tokens"

// UsageKey is the key of the usage totals of one version of app.
func UsageKey(app, version string) string { return "usage." + app + "." + version }

// UsagePrefix is the prefix of every usage key of app.
func UsagePrefix(app string) string { return "usage." + app }

// Records (JSON values in kumo_meta).

// AppRecord is the value of apps.<app>: the app's hosts and what serves it.
type AppRecord struct {
	Name  string   `json:"name"`
	Hosts []string `json:"hosts"`
	// Active has one entry (100%) or two (a traffic split; the first is the
	// version being rolled out); percents sum to 100.
	Active  []Split   `json:"active"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Deleted marks an app being removed; nodes stop serving it.
	Deleted bool `json:"deleted,omitempty"`
}

// Split is one version's share of an app's traffic.
type Split struct {
	Version string `json:"version"`
	Percent int    `json:"percent"`
}

// IsActive reports whether version id receives traffic.
func (r *AppRecord) IsActive(id string) bool {
	for _, s := range r.Active {
		if s.Version == id {
			return true
		}
	}
	return false
}

// VersionRecord is the value of versions.<app>.<id>: one immutable deploy.
// Message, author and time are here, outside the hashed content.
type VersionRecord struct {
	ID      string            `json:"id"`
	App     string            `json:"app"`
	Created time.Time         `json:"created"`
	Message string            `json:"message,omitempty"`
	Author  string            `json:"author,omitempty"`
	Size    int64             `json:"size"` // bytes of the stored content blob
	Entry   string            `json:"entry,omitempty"`
	Limits  Limits            `json:"limits"`
	Vars    map[string]string `json:"vars,omitempty"`
	// Blob names the content in kumo_bundles; equal to ID.
	Blob string `json:"blob"`
}

// HostRecord is the value of hosts.<host>: the app that claimed it.
type HostRecord struct {
	App string `json:"app"`
}

// TokenRecord is the value of tokens.<sha256 hex>; the token itself is
// never stored.
type TokenRecord struct {
	Name string `json:"name"`
	// App scopes the token to one app; "" is an admin token.
	App     string    `json:"app"`
	Created time.Time `json:"created"`
}

// UsageTotals is the value of usage.<app>.<version>, accumulated by nodes.
type UsageTotals struct {
	Requests   int64 `json:"requests"`
	Errors     int64 `json:"errors"`
	CPUUs      int64 `json:"cpu_us"`
	WallUs     int64 `json:"wall_us"`
	MemByteMs  int64 `json:"mem_byte_ms"`
	BytesIn    int64 `json:"bytes_in"`
	BytesOut   int64 `json:"bytes_out"`
	ColdStarts int64 `json:"cold_starts"`
}

// Merge adds o to t.
func (t *UsageTotals) Merge(o UsageTotals) {
	t.Requests += o.Requests
	t.Errors += o.Errors
	t.CPUUs += o.CPUUs
	t.WallUs += o.WallUs
	t.MemByteMs += o.MemByteMs
	t.BytesIn += o.BytesIn
	t.BytesOut += o.BytesOut
	t.ColdStarts += o.ColdStarts
}

// TokenHash is the hex SHA-256 of a token, the form in which it is stored.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
