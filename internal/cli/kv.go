package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"github.com/kumo-dev/kumo/internal/binding"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

func newKVCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "kv",
		Short: "Read and write an app's KV namespaces",
		Long: `Read and write the KV namespace that a KV binding of an app's active
version names (kv: [{binding: USERS}] in kumo.yaml is env.USERS, namespace
"users"). APP BINDING KEY name a key:

  kumo kv put shop USERS alice '{"plan":"pro"}' --ttl 3600
  kumo kv put shop USERS avatar - < avatar.png
  kumo kv get shop USERS alice
  kumo kv list shop USERS user/
  kumo kv delete shop USERS alice`,
	}
	addClientFlags(cmd, &o)

	get := &cobra.Command{
		Use:   "get APP BINDING KEY",
		Short: "Print a key's value (as stored, no newline added)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cc, err := o.kvClient()
			if err != nil {
				return err
			}
			resp, err := c.Get(cmd.Context(), connect.NewRequest(&kumov1.KVGetRequest{
				Target: &kumov1.KVTarget{App: args[0], Binding: args[1]}, Key: args[2]}))
			if err != nil {
				return cc.explain(err)
			}
			if !resp.Msg.Found {
				return fmt.Errorf("key %q not found in KV namespace %s of app %s", args[2], resp.Msg.Namespace, args[0])
			}
			if m := resp.Msg.Metadata; m != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "metadata:", m)
			}
			if e := resp.Msg.Expiration; e != 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "expires:", formatTime(time.Unix(e, 0)))
			}
			_, err = cmd.OutOrStdout().Write(resp.Msg.Value)
			return err
		},
	}

	var ttl time.Duration
	var expiration int64
	var metadata string
	put := &cobra.Command{
		Use:   "put APP BINDING KEY VALUE|-",
		Short: "Set a key from an argument, or from standard input with -",
		Args:  cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			value := []byte(args[3])
			if args[3] == "-" {
				var err error
				value, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), binding.KVMaxValueBytes+1))
				if err != nil {
					return fmt.Errorf("reading the value from standard input: %w", err)
				}
				if len(value) > binding.KVMaxValueBytes {
					return fmt.Errorf("value of more than %s on standard input is over the %s limit",
						binding.FormatSize(binding.KVMaxValueBytes), binding.FormatSize(binding.KVMaxValueBytes))
				}
			}
			if ttl < 0 || ttl%time.Second != 0 {
				return fmt.Errorf("--ttl %v: use whole seconds, e.g. 1h or 90s", ttl)
			}
			c, cc, err := o.kvClient()
			if err != nil {
				return err
			}
			resp, err := c.Put(cmd.Context(), connect.NewRequest(&kumov1.KVPutRequest{
				Target: &kumov1.KVTarget{App: args[0], Binding: args[1]}, Key: args[2], Value: value,
				ExpirationTtl: int64(ttl / time.Second), Expiration: expiration, Metadata: metadata,
			}))
			if err != nil {
				return cc.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "put %s (%s) in KV namespace %s of app %s\n", args[2], binding.FormatSize(int64(len(value))), resp.Msg.Namespace, args[0])
			return nil
		},
	}
	put.Flags().DurationVar(&ttl, "ttl", 0, "expire the key after this long (whole seconds, at least 1s)")
	put.Flags().Int64Var(&expiration, "expiration", 0, "expire the key at this time, in unix seconds")
	put.Flags().StringVar(&metadata, "metadata", "", "JSON metadata stored with the value (at most 1 KiB)")

	var limit int
	var cursor string
	list := &cobra.Command{
		Use:   "list APP BINDING [PREFIX]",
		Short: "List keys in byte order, with their expiry and metadata",
		Args:  cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 3 {
				prefix = args[2]
			}
			if limit < 0 {
				return fmt.Errorf("--limit %d must not be negative", limit)
			}
			c, cc, err := o.kvClient()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tEXPIRES\tMETADATA")
			shown := 0
			for {
				page := int32(binding.KVMaxListLimit)
				if limit > 0 {
					page = int32(min(limit-shown, binding.KVMaxListLimit))
				}
				resp, err := c.List(cmd.Context(), connect.NewRequest(&kumov1.KVListRequest{
					Target: &kumov1.KVTarget{App: args[0], Binding: args[1]}, Prefix: prefix, Cursor: cursor, Limit: page}))
				if err != nil {
					return cc.explain(err)
				}
				for _, k := range resp.Msg.Keys {
					exp := "-"
					if k.Expiration != 0 {
						exp = formatTime(time.Unix(k.Expiration, 0))
					}
					fmt.Fprintf(tw, "%q\t%s\t%s\n", k.Name, exp, orDash(k.Metadata))
				}
				shown += len(resp.Msg.Keys)
				cursor = resp.Msg.Cursor
				if resp.Msg.ListComplete {
					break
				}
				if limit > 0 && shown >= limit {
					if err := tw.Flush(); err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "more keys: continue with --cursor %s\n", cursor)
					return nil
				}
			}
			return tw.Flush()
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "show at most this many keys (default all)")
	list.Flags().StringVar(&cursor, "cursor", "", "continue a previous listing")

	del := &cobra.Command{
		Use:     "delete APP BINDING KEY",
		Aliases: []string{"rm"},
		Short:   "Delete a key (deleting an absent key is not an error)",
		Args:    cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cc, err := o.kvClient()
			if err != nil {
				return err
			}
			resp, err := c.Delete(cmd.Context(), connect.NewRequest(&kumov1.KVDeleteRequest{
				Target: &kumov1.KVTarget{App: args[0], Binding: args[1]}, Key: args[2]}))
			if err != nil {
				return cc.explain(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s from KV namespace %s of app %s\n", args[2], resp.Msg.Namespace, args[0])
			return nil
		},
	}
	cmd.AddCommand(get, put, list, del)
	return cmd
}

// kvClient is a client of kumo.v1.KV, with a controlClient for explaining
// errors.
func (o clientOptions) kvClient() (kumov1connect.KVClient, *controlClient, error) {
	hc, server, opts, err := o.connection()
	if err != nil {
		return nil, nil, err
	}
	return kumov1connect.NewKVClient(hc, server, opts...), &controlClient{server: server}, nil
}
