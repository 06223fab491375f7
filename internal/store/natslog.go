package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
)

// natsLogger sends the embedded server's log lines to slog. Notices are
// start-up banners and routine events, so they go to debug; warnings and
// errors keep their level.
type natsLogger struct {
	log *slog.Logger

	mu        sync.Mutex
	fatalLine string // first Fatalf line, reported by Open
}

func (l *natsLogger) logf(level slog.Level, format string, v []any) {
	// Formatting is the expensive part; skip it when the level is off.
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

func (l *natsLogger) Noticef(format string, v ...any) { l.logf(slog.LevelDebug, format, v) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.logf(slog.LevelWarn, format, v) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.logf(slog.LevelError, format, v) }
func (l *natsLogger) Debugf(format string, v ...any)  { l.logf(slog.LevelDebug, format, v) }
func (l *natsLogger) Tracef(format string, v ...any)  { l.logf(slog.LevelDebug-4, format, v) }

// Fatalf logs and records the failure. nats-server's own logger exits the
// process here; inside Kumo the failure is returned by Open instead.
func (l *natsLogger) Fatalf(format string, v ...any) {
	line := fmt.Sprintf(format, v...)
	l.log.Error(line)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatalLine == "" {
		l.fatalLine = line
	}
}

func (l *natsLogger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalLine
}

var _ server.Logger = (*natsLogger)(nil)
