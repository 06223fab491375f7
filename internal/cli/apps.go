package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

func newAppsCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List apps: active versions, routes, requests and errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.ListApps(cmd.Context(), connect.NewRequest(&kumov1.ListAppsRequest{}))
			if err != nil {
				return c.explain(err)
			}
			out := cmd.OutOrStdout()
			if len(resp.Msg.Apps) == 0 {
				fmt.Fprintln(out, "no apps yet: deploy one with kumo deploy DIR")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "APP\tACTIVE\tROUTES\tREQUESTS\tERRORS\tUPDATED")
			for _, a := range resp.Msg.Apps {
				routes := append([]string{"/" + a.Name + "/"}, a.Hosts...)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", a.Name, formatSplits(a.Active),
					strings.Join(routes, " "), a.Requests, a.Errors, formatTime(a.Updated.AsTime()))
			}
			return tw.Flush()
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}
