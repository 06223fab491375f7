package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kumo-dev/kumo/internal/bindings"
	"github.com/kumo-dev/kumo/internal/dev"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/triggers"
)

func newDevCmd() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev [DIR]",
		Short: "Serve the app in DIR, rebuilding it when its files change",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			o.dir = dir
			return runDev(cmd.Context(), cmd, o)
		},
	}
	cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8787", "address to serve on")
	cmd.Flags().BoolVar(&o.allowPrivate, "allow-private-net", false, "let outbound fetch reach loopback and private addresses")
	cmd.Flags().BoolVar(&o.noWatch, "no-watch", false, "serve the first build only; do not rebuild on change")
	cmd.Flags().BoolVar(&o.quiet, "quiet", false, "print no access log")
	cmd.Flags().StringVar(&o.httpImpl, "http", "fast", `HTTP server of the data plane: "fast" (fasthttp, HTTP/1.1) or "std" (net/http, also HTTP/2)`)
	return cmd
}

type devOptions struct {
	dir, addr, httpImpl          string
	allowPrivate, noWatch, quiet bool
}

func runDev(ctx context.Context, cmd *cobra.Command, o devOptions) (err error) {
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	if fi, serr := os.Stat(o.dir); serr != nil || !fi.IsDir() {
		return fmt.Errorf("app folder %s: not a directory", o.dir)
	}
	// The app's KV data, buckets and queues live in an embedded store in
	// DIR/.kumo, kept between runs.
	st, err := store.Open(ctx, store.Config{DataDir: filepath.Join(o.dir, ".kumo"), Logger: logger,
		MaxStore: 1 << 30})
	if err != nil {
		return fmt.Errorf("opening the dev store in %s: %w", filepath.Join(o.dir, ".kumo"), err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing store: %w", cerr))
		}
	}()
	out := cmd.OutOrStdout()
	var rec runtime.Recorder = accessLog{w: out}
	if o.quiet {
		rec = nil
	}
	rt, err := runtime.New(runtime.Config{
		Logger:       logger,
		Spares:       2,
		ExposeErrors: true,
		Recorder:     rec,
		Console: func(l runtime.ConsoleLine) {
			fmt.Fprintf(out, "[%s] %s %s\n", l.RequestID, l.Level, l.Message)
		},
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	// Queue consumers and crons follow the version being served.
	trig, err := triggers.New(ctx, triggers.Config{Store: st, Logger: logger,
		OnEvent: func(app, version, level, msg string) { fmt.Fprintf(out, "[%s] %s %s\n", app, level, msg) }})
	if err != nil {
		return err
	}
	defer trig.Close()
	srv, err := dev.New(dev.Config{Dir: o.dir, Runtime: rt, Logger: logger,
		Limits: runtime.Limits{AllowPrivateNet: o.allowPrivate}, NoWatch: o.noWatch,
		Bindings: bindings.Deps{Store: st, Logger: logger}, OnVersion: trig.SetVersion})
	if srv == nil {
		return err
	}
	defer srv.Close()
	trig.Start(srv)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "build failed (fix the file and the next request rebuilds):\n%v\n", err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.addr, err)
	}
	dp, err := newDataPlane(o.httpImpl, srv, logger)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(out, "kumo dev: serving %s on http://%s\n", o.dir, ln.Addr())
	return dp.run(ctx, ln)
}

// accessLog prints one line per invocation.
type accessLog struct {
	w interface{ Write([]byte) (int, error) }
}

func (a accessLog) Record(u *runtime.Usage) {
	cold := ""
	if u.ColdStart {
		cold = " cold"
	}
	fmt.Fprintf(a.w, "%s %s %s %d %s %.2fms cpu=%.2fms in=%dB out=%dB%s\n",
		u.Start.Format("15:04:05.000"), u.RequestID, u.Method+" "+u.Path, u.Status, u.Outcome,
		float64(u.Wall.Microseconds())/1000, float64(u.CPU.Microseconds())/1000, u.BytesIn, u.BytesOut, cold)
}
