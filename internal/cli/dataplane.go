package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// dataPlane serves functions on one listener with the chosen HTTP server
// library. fasthttp is the default: on the hello-world benchmark the HTTP
// layer costs as much CPU as the JavaScript, and fasthttp needs about half
// of net/http's (bench/run.sh). net/http remains for HTTP/2.
type dataPlane struct {
	run func(ctx context.Context, ln net.Listener) error
}

func newDataPlane(impl string, std http.Handler, fast fasthttp.RequestHandler, log *slog.Logger) (*dataPlane, error) {
	switch impl {
	case "fast", "":
		srv := &fasthttp.Server{
			Handler:               fast,
			Name:                  "kumo",
			StreamRequestBody:     true,
			MaxRequestBodySize:    1 << 30, // apps enforce their own limit while reading
			ReadTimeout:           60 * time.Second,
			IdleTimeout:           120 * time.Second,
			NoDefaultServerHeader: true,
			NoDefaultContentType:  true,
			CloseOnShutdown:       true,
			Logger:                fastLogger{log},
		}
		return &dataPlane{run: func(ctx context.Context, ln net.Listener) error {
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return srv.ShutdownWithContext(shutdown)
		}}, nil
	case "std":
		srv := &http.Server{Handler: std, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		return &dataPlane{run: func(ctx context.Context, ln net.Listener) error {
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}}, nil
	}
	return nil, fmt.Errorf(`--http %q: must be "fast" or "std"`, impl)
}

// fastLogger sends fasthttp's connection errors to slog at debug level: a
// client hanging up is routine.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "dataplane")
}
