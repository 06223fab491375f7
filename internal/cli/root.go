// Package cli implements the kumo command line: each command is a thin
// client of a component (the dev server, or the control plane).
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return MainIO(args, os.Stdin, stdout, stderr)
}

// MainIO is Main with standard input given (`kumo secret put` reads it).
func MainIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetIn(stdin)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "kumo:", err)
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "kumo",
		Short:         "Kumo runs JavaScript and TypeScript functions on one machine or many",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newDevCmd(), newServeCmd())
	root.AddCommand(newDeployCmd(), newAppsCmd(), newVersionsCmd(), newRollbackCmd(), newRmCmd(),
		newLogsCmd(), newUsageCmd(), newTokenCmd())
	root.AddCommand(newSecretCmd())
	root.AddCommand(newQueueCmd(), newTriggerCmd())
	root.AddCommand(newKVCmd())
	return root
}
