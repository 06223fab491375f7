package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// DefaultServer is the control plane the CLI talks to when neither
// --server nor KUMO_SERVER says otherwise.
const DefaultServer = "http://127.0.0.1:8788"

// clientOptions locate the control plane and authenticate to it.
type clientOptions struct {
	server, token string
}

// addClientFlags adds --server and --token to cmd (and, as persistent
// flags, to its subcommands).
func addClientFlags(cmd *cobra.Command, o *clientOptions) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.server, "server", "", "control plane URL (default $KUMO_SERVER or "+DefaultServer+")")
	f.StringVar(&o.token, "token", "", "bearer token (default $KUMO_TOKEN)")
}

// controlClient is a client of the control plane with its address, for
// error messages.
type controlClient struct {
	kumov1connect.ControlClient
	server string
}

// dial returns a control-plane client from the flags and the environment.
// It speaks the Connect protocol over HTTP/1.1 or 2, so it needs nothing
// from the server beyond plain HTTP.
func (o clientOptions) dial() (*controlClient, error) {
	hc, server, opts, err := o.connection()
	if err != nil {
		return nil, err
	}
	c := kumov1connect.NewControlClient(hc, server, opts...)
	return &controlClient{ControlClient: c, server: server}, nil
}

// connection returns what a client of any control-plane service needs:
// the HTTP client, the server's base URL and the options that add the
// token.
func (o clientOptions) connection() (*http.Client, string, []connect.ClientOption, error) {
	server := cmp.Or(o.server, os.Getenv("KUMO_SERVER"), DefaultServer)
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	server = strings.TrimRight(server, "/")
	token := strings.TrimSpace(cmp.Or(o.token, os.Getenv("KUMO_TOKEN")))
	if token == "" {
		return nil, "", nil, errors.New("no token: pass --token or set KUMO_TOKEN (kumo serve writes an admin token to <data>/admin.token)")
	}
	hc := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		ResponseHeaderTimeout: 5 * time.Minute, // deploys bundle and check on the server
	}}
	return hc, server, []connect.ClientOption{connect.WithInterceptors(bearerToken(token))}, nil
}

// explain turns a control-plane error into one a person can act on: the
// server's message without the protocol's code prefix, and a hint when the
// server could not be reached at all.
func (c *controlClient) explain(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Code() {
	case connect.CodeUnavailable:
		return fmt.Errorf("cannot reach the control plane at %s (is kumo serve running? set --server or KUMO_SERVER): %s", c.server, ce.Message())
	case connect.CodeUnauthenticated, connect.CodePermissionDenied:
		return fmt.Errorf("%s (server %s)", ce.Message(), c.server)
	case connect.CodeCanceled:
		return context.Canceled
	}
	return errors.New(ce.Message())
}

// bearerToken adds the Authorization header to every call.
type bearerToken string

func (b bearerToken) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearerToken) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearerToken) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// Formatting shared by the commands' tables.

// shortID is the part of a version id people see.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// formatBytes prints n bytes with a binary unit.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatTime prints a time in the local zone, to the second.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// orDash returns s, or "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var _ connect.Interceptor = bearerToken("")
