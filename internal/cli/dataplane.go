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
// layer costs as much CPU as the JavaScript and fasthttp needs much less of
// it than net/http (bench/run.sh). net/http remains for HTTP/2 (--http std).
type dataPlane struct {
	serve    func(ln net.Listener) error
	shutdown func(ctx context.Context) error
}

// handler is what a data plane serves: both server libraries' entry points.
type handler interface {
	http.Handler
	ServeFastHTTP(ctx *fasthttp.RequestCtx)
}

func newDataPlane(impl string, h handler, log *slog.Logger) (*dataPlane, error) {
	switch impl {
	case "fast", "":
		srv := &fasthttp.Server{
			Handler:               h.ServeFastHTTP,
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
		return &dataPlane{serve: srv.Serve, shutdown: srv.ShutdownWithContext}, nil
	case "std":
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		return &dataPlane{
			serve: func(ln net.Listener) error {
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			},
			shutdown: func(ctx context.Context) error {
				if err := srv.Shutdown(ctx); err != nil {
					srv.Close()
					return err
				}
				return nil
			},
		}, nil
	}
	return nil, fmt.Errorf(`--http %q: must be "fast" or "std"`, impl)
}

// run serves until ctx ends, then shuts down within 10 seconds.
func (d *dataPlane) run(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- d.serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.shutdown(shutdown)
}

// fastLogger sends fasthttp's connection errors to slog at debug level: a
// client hanging up is routine.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "dataplane")
}
