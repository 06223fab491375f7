package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kumo-dev/kumo/internal/secrets"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

func newSecretCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Set, list and remove an app's secrets",
		Long: `Secrets are values an app reads as env.NAME once its kumo.yaml declares
them (secrets: [NAME]). They are stored encrypted and never printed: list
shows names and update times only.`,
	}
	addClientFlags(cmd, &o)
	put := &cobra.Command{
		Use:   "put APP NAME",
		Short: "Set a secret from standard input (typed without echo on a terminal)",
		Long: `Set the secret NAME of APP to the value read from standard input; one
trailing newline is removed. On a terminal the value is typed without echo.
The app need not be deployed yet. Running versions pick the new value up at
once.

  kumo secret put shop STRIPE_KEY < key.txt
  printf %s "$TOKEN" | kumo secret put shop API_TOKEN`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSecretPut(cmd, o, args[0], args[1])
		},
	}
	list := &cobra.Command{
		Use:   "list APP",
		Short: "List an app's secrets (names and update times, never values)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSecretList(cmd, o, args[0])
		},
	}
	rm := &cobra.Command{
		Use:     "rm APP NAME",
		Aliases: []string{"delete"},
		Short:   "Remove a secret",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSecretRm(cmd, o, args[0], args[1])
		},
	}
	cmd.AddCommand(put, list, rm)
	return cmd
}

// secretsClient is a client of kumo.v1.Secrets, with a controlClient for
// explaining errors.
func (o clientOptions) secretsClient() (kumov1connect.SecretsClient, *controlClient, error) {
	hc, server, opts, err := o.connection()
	if err != nil {
		return nil, nil, err
	}
	return kumov1connect.NewSecretsClient(hc, server, opts...), &controlClient{server: server}, nil
}

func runSecretPut(cmd *cobra.Command, o clientOptions, appName, name string) error {
	if err := secrets.CheckName(appName, name); err != nil {
		return err
	}
	value, err := readSecret(cmd.InOrStdin(), cmd.ErrOrStderr(), name)
	if err != nil {
		return err
	}
	if err := secrets.CheckValue(value); err != nil {
		return err
	}
	c, explain, err := o.secretsClient()
	if err != nil {
		return err
	}
	resp, err := c.PutSecret(cmd.Context(), connect.NewRequest(&kumov1.PutSecretRequest{App: appName, Name: name, Value: value}))
	if err != nil {
		return explain.explain(err)
	}
	verb := "updated"
	if resp.Msg.Created {
		verb = "created"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: secret %s %s\n", appName, name, verb)
	return nil
}

// readSecret reads a secret's value from in: without echo, after a prompt
// on prompt, when in is a terminal; otherwise all of it. One trailing
// newline (\n or \r\n) is removed.
func readSecret(in io.Reader, prompt io.Writer, name string) (string, error) {
	var data []byte
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "Value of %s (input hidden): ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading the secret from the terminal: %w", err)
		}
		data = b
	} else {
		b, err := io.ReadAll(io.LimitReader(in, secrets.MaxValueBytes+3))
		if err != nil {
			return "", fmt.Errorf("reading the secret from standard input: %w", err)
		}
		data = b
	}
	if b, ok := bytes.CutSuffix(data, []byte("\n")); ok {
		data, _ = bytes.CutSuffix(b, []byte("\r"))
	}
	if len(data) == 0 {
		return "", errors.New("the secret's value is empty: pipe or type it on standard input")
	}
	return string(data), nil
}

func runSecretList(cmd *cobra.Command, o clientOptions, appName string) error {
	c, explain, err := o.secretsClient()
	if err != nil {
		return err
	}
	resp, err := c.ListSecrets(cmd.Context(), connect.NewRequest(&kumov1.ListSecretsRequest{App: appName}))
	if err != nil {
		return explain.explain(err)
	}
	out := cmd.OutOrStdout()
	if len(resp.Msg.Secrets) == 0 {
		fmt.Fprintf(out, "%s has no secrets (set one with: kumo secret put %s NAME)\n", appName, appName)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUPDATED")
	for _, s := range resp.Msg.Secrets {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, formatTime(s.Updated.AsTime()))
	}
	return tw.Flush()
}

func runSecretRm(cmd *cobra.Command, o clientOptions, appName, name string) error {
	if err := secrets.CheckName(appName, name); err != nil {
		return err
	}
	c, explain, err := o.secretsClient()
	if err != nil {
		return err
	}
	if _, err := c.DeleteSecret(cmd.Context(), connect.NewRequest(&kumov1.DeleteSecretRequest{App: appName, Name: name})); err != nil {
		return explain.explain(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: secret %s removed\n", appName, strings.TrimSpace(name))
	return nil
}
