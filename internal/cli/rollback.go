package cli

import (
	"fmt"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

func newRollbackCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "rollback APP VERSION",
		Short: "Make a stored version (id or unique id prefix) the app's only active version",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.Rollback(cmd.Context(), connect.NewRequest(&kumov1.RollbackRequest{App: args[0], Version: args[1]}))
			if err != nil {
				return c.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: serving %s\n", args[0], formatSplits(resp.Msg.Active))
			return nil
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}
