package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

func newTokenCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke control-plane tokens (needs an admin token)",
	}
	addClientFlags(cmd, &o)
	cmd.AddCommand(newTokenCreateCmd(&o), newTokenListCmd(&o), newTokenRevokeCmd(&o))
	return cmd
}

func newTokenCreateCmd(o *clientOptions) *cobra.Command {
	var (
		appName, name string
		admin         bool
	)
	cmd := &cobra.Command{
		Use:   "create --app NAME [--name N]",
		Short: "Create a token scoped to one app (or, with --admin, to everything); it is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (appName == "") == !admin {
				return errors.New("give --app NAME for an app-scoped token or --admin for an admin token")
			}
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.CreateToken(cmd.Context(), connect.NewRequest(&kumov1.CreateTokenRequest{App: appName, Name: name}))
			if err != nil {
				return c.explain(err)
			}
			info := resp.Msg.Info
			scope := "every app (admin)"
			if info.App != "" {
				scope = "app " + info.App
			}
			// The explanation goes to stderr so that $(kumo token create ...)
			// captures the token alone.
			fmt.Fprintf(cmd.ErrOrStderr(), "Created token %q for %s. It is shown only now; keep it secret:\n", info.Name, scope)
			fmt.Fprintln(cmd.OutOrStdout(), resp.Msg.Token)
			return nil
		},
	}
	cmd.Flags().StringVar(&appName, "app", "", "the app the token may deploy and read")
	cmd.Flags().StringVar(&name, "name", "", "name to list and revoke it by (default: generated)")
	cmd.Flags().BoolVar(&admin, "admin", false, "create an admin token instead")
	return cmd
}

func newTokenListCmd(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens (names, scopes and hash prefixes; never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.ListTokens(cmd.Context(), connect.NewRequest(&kumov1.ListTokensRequest{}))
			if err != nil {
				return c.explain(err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tAPP\tHASH\tCREATED")
			for _, t := range resp.Msg.Tokens {
				scope := t.App
				if scope == "" {
					scope = "(admin)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, scope, t.HashPrefix, formatTime(t.Created.AsTime()))
			}
			return tw.Flush()
		},
	}
}

func newTokenRevokeCmd(o *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME|HASH-PREFIX",
		Short: "Revoke a token by name or hash prefix; it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.RevokeToken(cmd.Context(), connect.NewRequest(&kumov1.RevokeTokenRequest{Token: args[0]}))
			if err != nil {
				return c.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %q (%s)\n", resp.Msg.Revoked.Name, resp.Msg.Revoked.HashPrefix)
			return nil
		},
	}
}
