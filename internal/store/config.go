package store

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the store's data lives. The zero value is not valid:
// set DataDir (embedded server) or NATSURL (external server).
type Config struct {
	// DataDir holds the embedded server's JetStream files (in
	// DataDir/jetstream). Required when NATSURL is empty, refused otherwise.
	DataDir string
	// NATSURL, when set, connects to an existing NATS server or cluster
	// (comma-separated nats://, tls://, ws:// or wss:// URLs) instead of
	// embedding one. Its JetStream domain must equal JetStreamDomain.
	NATSURL string
	// JetStreamDomain is the JetStream domain of the store; default "kumo".
	// Set from the first start, it lets a single node later join or become
	// a cluster without renaming anything. Letters, digits, '-' and '_'.
	JetStreamDomain string
	// MaxMemory and MaxStore cap the embedded server's JetStream memory and
	// file storage in bytes; defaults 256 MiB and 10 GiB. Explicit limits
	// keep JetStream from claiming a share of the whole machine (its own
	// default is 75% of RAM and 1 TB of disk). Embedded mode only.
	MaxMemory int64
	MaxStore  int64
	// Replicas for the store's buckets and streams; default 1. An embedded
	// single node supports only 1; a cluster uses 3.
	Replicas int
	// ListenAddr, when set ("127.0.0.1:4222", port 0 for a random one),
	// makes the embedded server accept NATS clients there. Empty means the
	// server does not listen at all and the store talks to it in process.
	ListenAddr string
	// LogMaxBytes caps the kumo_logs stream; default 64 MiB. The oldest
	// lines are dropped first.
	LogMaxBytes int64
	// LogMaxLinesPerApp caps the lines kept per app; default 10000.
	LogMaxLinesPerApp int64
	// Logger receives the store's and the embedded server's logs; default
	// slog.Default(). The server's notices are logged at debug level.
	Logger *slog.Logger

	// Resolved from ListenAddr by normalize.
	listenHost string
	listenPort int
}

// Defaults applied by Open to zero fields.
const (
	DefaultJetStreamDomain   = "kumo"
	DefaultMaxMemory         = 256 << 20
	DefaultMaxStore          = 10 << 30
	DefaultLogMaxBytes       = 64 << 20
	DefaultLogMaxLinesPerApp = 10000
)

var domainRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// normalize fills defaults and checks every field, reporting all problems
// at once, each naming its field.
func (c Config) normalize() (Config, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	embedded := c.NATSURL == ""

	if c.JetStreamDomain == "" {
		c.JetStreamDomain = DefaultJetStreamDomain
	} else if !domainRe.MatchString(c.JetStreamDomain) {
		bad("JetStreamDomain", "%q must be 1-64 letters, digits, '-' or '_'", c.JetStreamDomain)
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	switch {
	case c.Replicas < 0 || c.Replicas > 5:
		bad("Replicas", "%d must be between 1 and 5", c.Replicas)
	case embedded && c.Replicas != 1:
		bad("Replicas", "%d needs a cluster; an embedded single node supports only 1", c.Replicas)
	}
	if c.LogMaxBytes == 0 {
		c.LogMaxBytes = DefaultLogMaxBytes
	} else if c.LogMaxBytes < 0 {
		bad("LogMaxBytes", "%d must not be negative", c.LogMaxBytes)
	}
	if c.LogMaxLinesPerApp == 0 {
		c.LogMaxLinesPerApp = DefaultLogMaxLinesPerApp
	} else if c.LogMaxLinesPerApp < 0 {
		bad("LogMaxLinesPerApp", "%d must not be negative", c.LogMaxLinesPerApp)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}

	if embedded {
		if c.DataDir == "" {
			bad("DataDir", "required unless NATSURL is set")
		} else {
			c.DataDir = filepath.Clean(c.DataDir)
		}
		if c.MaxMemory == 0 {
			c.MaxMemory = DefaultMaxMemory
		} else if c.MaxMemory < 0 {
			bad("MaxMemory", "%d must not be negative", c.MaxMemory)
		}
		if c.MaxStore == 0 {
			c.MaxStore = DefaultMaxStore
		} else if c.MaxStore < 0 {
			bad("MaxStore", "%d must not be negative", c.MaxStore)
		}
		// JetStream reserves a stream's MaxBytes up front, so the log
		// stream alone must fit with room left for metadata and bundles.
		if c.MaxStore > 0 && c.LogMaxBytes > 0 && c.MaxStore <= c.LogMaxBytes {
			bad("MaxStore", "%d must exceed LogMaxBytes (%d)", c.MaxStore, c.LogMaxBytes)
		}
		if c.ListenAddr != "" {
			host, port, err := parseListenAddr(c.ListenAddr)
			if err != nil {
				bad("ListenAddr", "%v", err)
			}
			c.listenHost, c.listenPort = host, port
		}
	} else {
		if err := checkNATSURL(c.NATSURL); err != nil {
			bad("NATSURL", "%v", err)
		}
		// These configure an embedded server; silently ignoring them would
		// hide a misconfiguration.
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"DataDir", c.DataDir != ""},
			{"ListenAddr", c.ListenAddr != ""},
			{"MaxMemory", c.MaxMemory != 0},
			{"MaxStore", c.MaxStore != 0},
		} {
			if f.set {
				bad(f.name, "applies only to the embedded server, but NATSURL is set")
			}
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("invalid store config: %w", errors.Join(errs...))
	}
	return c, nil
}

func parseListenAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	if port == 0 {
		// nats-server reads port 0 as "the default 4222"; -1 asks for a
		// random free port, which is what 0 means everywhere else.
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

func checkNATSURL(list string) error {
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("%q: %w", raw, err)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("%q: scheme must be nats, tls, ws or wss", raw)
		}
		if u.Host == "" {
			return fmt.Errorf("%q: missing host", raw)
		}
	}
	return nil
}
