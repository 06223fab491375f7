package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

func newUsageCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "usage APP",
		Short: "Show an app's usage per version: requests, errors, CPU and wall time, memory, bytes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.dial()
			if err != nil {
				return err
			}
			resp, err := c.GetUsage(cmd.Context(), connect.NewRequest(&kumov1.GetUsageRequest{App: args[0]}))
			if err != nil {
				return c.explain(err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "VERSION\tREQUESTS\tERRORS\tCPU\tWALL\tMEMORY (GiB·s)\tIN\tOUT\tCOLD STARTS\t")
			row := func(name string, u *kumov1.Usage) {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%.3f\t%s\t%s\t%d\t\n", name, u.GetRequests(), u.GetErrors(),
					micros(u.GetCpuUs()), micros(u.GetWallUs()), float64(u.GetMemByteMs())/(1<<30)/1000,
					formatBytes(u.GetBytesIn()), formatBytes(u.GetBytesOut()), u.GetColdStarts())
			}
			for _, u := range resp.Msg.Versions {
				row(shortID(u.Version), u)
			}
			row("total", resp.Msg.Total)
			return tw.Flush()
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}

// micros prints a count of microseconds as a rounded duration.
func micros(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.String()
}
