package cli

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
)

func newLogsCmd() *cobra.Command {
	var (
		o      clientOptions
		follow bool
		lines  int
	)
	cmd := &cobra.Command{
		Use:   "logs APP",
		Short: "Print an app's recent log lines; -f follows new ones",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if lines < 0 {
				return fmt.Errorf("-n %d: must not be negative", lines)
			}
			c, err := o.dial()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if !follow {
				resp, err := c.Logs(ctx, connect.NewRequest(&kumov1.LogsRequest{App: args[0], Last: int32(lines)}))
				if err != nil {
					return c.explain(err)
				}
				for _, l := range resp.Msg.Lines {
					fmt.Fprintln(out, l)
				}
				return nil
			}
			stream, err := c.FollowLogs(ctx, connect.NewRequest(&kumov1.FollowLogsRequest{App: args[0], Last: int32(lines)}))
			if err != nil {
				return c.explain(err)
			}
			defer stream.Close()
			for stream.Receive() {
				if l := stream.Msg().Line; l != "" {
					fmt.Fprintln(out, l)
				}
			}
			// Interrupting a follow is how it normally ends.
			if err := stream.Err(); err != nil && !errors.Is(c.explain(err), context.Canceled) && ctx.Err() == nil {
				return c.explain(err)
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until interrupted")
	cmd.Flags().IntVarP(&lines, "lines", "n", 100, "how many recent lines to print first")
	return cmd
}
