package cli

import (
	"fmt"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

func newVersionsCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "versions APP",
		Short: "List an app's versions, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.ListVersions(cmd.Context(), connect.NewRequest(&kumov1.ListVersionsRequest{App: args[0]}))
			if err != nil {
				return c.explain(err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tCREATED\tACTIVE\tSIZE\tAUTHOR\tMESSAGE")
			for _, v := range resp.Msg.Versions {
				active := "-"
				if v.Active > 0 {
					active = fmt.Sprintf("%d%%", v.Active)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", shortID(v.Id), formatTime(v.Created.AsTime()),
					active, formatBytes(v.Size), orDash(v.Author), orDash(v.Message))
			}
			return tw.Flush()
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}
