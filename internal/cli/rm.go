package cli

import (
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

func newRmCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "rm APP",
		Short: "Remove an app: it stops serving; its versions, hosts and usage are deleted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.DeleteApp(cmd.Context(), connect.NewRequest(&kumov1.DeleteAppRequest{App: args[0]}))
			if err != nil {
				return c.explain(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: removed (%d versions", args[0], resp.Msg.VersionsDeleted)
			if h := resp.Msg.HostsReleased; len(h) > 0 {
				fmt.Fprintf(out, "; released %s", strings.Join(h, ", "))
			}
			fmt.Fprintln(out, ")")
			return nil
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}
