package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kumo-dev/kumo/internal/bindings"
	"github.com/kumo-dev/kumo/internal/control"
	"github.com/kumo-dev/kumo/internal/node"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/secrets"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/triggers"
)

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a node: serve every deployed app and the control plane",
		Long: `Run a Kumo node. The data plane (--addr) serves every app at /<app>/... and
at the root of the hosts it claims; the control plane (--control-addr) serves
the kumo.v1.Control API that the other commands use, and Prometheus metrics
at /metrics.

State lives in an embedded NATS JetStream server under --data, or on an
existing NATS server or cluster with --nats. The admin token is written to
<data>/admin.token at the first start, and the key that encrypts apps'
secrets to <data>/secrets.key (every node of a cluster needs the same one).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", ":8787", "data plane address")
	f.StringVar(&o.controlAddr, "control-addr", "127.0.0.1:8788", "control plane address (API and /metrics)")
	f.StringVar(&o.data, "data", "./kumo-data", "data directory (embedded store, admin token)")
	f.StringVar(&o.nats, "nats", "", "use this NATS server or cluster (nats://host:port,...) instead of an embedded one")
	f.BoolVar(&o.allowPrivate, "allow-private-net", false, "let apps' outbound fetch reach loopback and private addresses")
	f.DurationVar(&o.idleVersion, "version-idle", node.DefaultIdleVersion, "drop a version from memory after this long without a request")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may run on shutdown")
	f.BoolVar(&o.pprof, "pprof", false, "serve Go profiles at /debug/pprof/ on the control listener")
	f.StringVar(&o.httpImpl, "http", "fast", `HTTP server of the data plane: "fast" (fasthttp, HTTP/1.1) or "std" (net/http, also HTTP/2)`)
	// Tests only: how long a cron minute lasts, so "* * * * *" can fire
	// every second. Every node sharing a store must agree.
	f.DurationVar(&o.cronMinute, "cron-minute", 0, "length of a cron minute (testing)")
	_ = f.MarkHidden("cron-minute")
	return cmd
}

type serveOptions struct {
	addr, controlAddr, data, nats string
	httpImpl                      string
	allowPrivate, pprof           bool
	idleVersion, shutdownTimeout  time.Duration
	cronMinute                    time.Duration
}

// runServe wires a node: store, telemetry, runtime, node, control plane,
// then the two listeners; on ctx's end it stops them in the reverse order.
func runServe(ctx context.Context, cmd *cobra.Command, o serveOptions) (err error) {
	out := cmd.OutOrStdout()
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))

	scfg := store.Config{Logger: logger}
	if o.nats != "" {
		scfg.NATSURL = o.nats
	} else {
		scfg.DataDir = o.data
	}
	st, err := store.Open(ctx, scfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing store: %w", cerr))
		}
	}()

	// Secrets are sealed with <data>/secrets.key; every node of a cluster
	// needs the same file (see docs/manifest.md).
	// Without the file on a node of a cluster that has one, the node runs
	// but cannot read or write secrets until it gets a copy.
	keyPath := filepath.Join(o.data, secrets.KeyFile)
	var (
		sec       *secrets.Store
		secSource bindings.SecretSource
	)
	switch secretKey, keyCreated, kerr := secrets.EnsureKey(ctx, st, keyPath); {
	case errors.Is(kerr, secrets.ErrNoKey):
		logger.Warn("running without the secrets key: apps that declare secrets will not load here", "error", kerr)
		secSource = secrets.Unavailable{Reason: kerr}
	case kerr != nil:
		return kerr
	default:
		if keyCreated {
			fmt.Fprintf(out, "secrets key written to %s (copy it to every node of a cluster; back it up)\n", keyPath)
		}
		sec = secrets.NewStore(st, secretKey)
		secSource = sec
	}

	tel, err := node.NewTelemetry(node.TelemetryConfig{Store: st, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		// The last usage and log lines go out before the store closes.
		flush, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if cerr := tel.Close(flush); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()

	rt, err := runtime.New(runtime.Config{Logger: logger, Spares: 4, Recorder: tel, Console: tel.Console})
	if err != nil {
		return fmt.Errorf("starting runtime: %w", err)
	}
	defer rt.Close()

	trig, err := triggers.New(ctx, triggers.Config{Store: st, Logger: logger, CronMinute: o.cronMinute,
		OnEvent: func(a, v, level, msg string) { tel.Event(a, v, "", level, msg) }})
	if err != nil {
		return err
	}
	n, err := node.New(ctx, node.Config{Store: st, Runtime: rt, Telemetry: tel, Logger: logger,
		IdleVersion: o.idleVersion, AllowPrivateNet: o.allowPrivate, OnActive: trig.SetActive, Secrets: secSource})
	if err != nil {
		trig.Close()
		return err
	}
	defer n.Close()
	// Queue consumers and crons run handlers through the node; they stop
	// (finishing what they run) before it closes.
	trig.Start(n)
	defer trig.Close()

	svc, err := control.New(control.Config{Store: st, Runtime: rt, Logger: logger, Secrets: sec, Triggers: trig})
	if err != nil {
		return fmt.Errorf("starting control plane: %w", err)
	}
	tokenPath := filepath.Join(o.data, "admin.token")
	if _, created, err := control.EnsureAdminToken(ctx, st, tokenPath); err != nil {
		return err
	} else if created {
		fmt.Fprintf(out, "admin token written to %s\n", tokenPath)
	} else {
		fmt.Fprintf(out, "admin token in %s\n", tokenPath)
	}

	dataLn, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listening for the data plane on %s: %w", o.addr, err)
	}
	defer dataLn.Close()
	controlLn, err := net.Listen("tcp", o.controlAddr)
	if err != nil {
		return fmt.Errorf("listening for the control plane on %s: %w", o.controlAddr, err)
	}
	defer controlLn.Close()

	mux := http.NewServeMux()
	control.Mount(mux, svc)
	mux.Handle("GET /metrics", tel.MetricsHandler())
	if o.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC clients without TLS
	dp, err := newDataPlane(o.httpImpl, n, logger)
	if err != nil {
		return err
	}
	ctl := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	// Control calls (log follows above all) run on a context that ends a
	// little after shutdown starts, so a `kumo logs -f` does not hold the
	// node up for the whole shutdown timeout.
	controlCtx, endControl := context.WithCancel(context.Background())
	defer endControl()
	ctl.BaseContext = func(net.Listener) context.Context { return controlCtx }
	ctl.RegisterOnShutdown(func() { time.AfterFunc(time.Second, endControl) })
	errc := make(chan error, 2)
	go func() { errc <- dp.serve(dataLn) }()
	go func() { errc <- ctl.Serve(controlLn) }()
	fmt.Fprintf(out, "data plane on http://%s\ncontrol plane on http://%s\n", dataLn.Addr(), controlLn.Addr())

	select {
	case err = <-errc:
		err = fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests", "timeout", o.shutdownTimeout)
	shutdown, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if serr := dp.shutdown(shutdown); serr != nil {
			logger.Warn("requests still running at the shutdown deadline; closing them", "error", serr)
		}
	})
	wg.Go(func() {
		if serr := ctl.Shutdown(shutdown); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			ctl.Close()
		}
	})
	wg.Wait()
	// The deferred closes run now: node (pools), runtime, telemetry
	// (usage and log flush), store.
	return err
}
