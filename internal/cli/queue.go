package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// queuesClient is a client of kumo.v1.Queues, with a controlClient for
// explaining errors.
func (o clientOptions) queuesClient() (kumov1connect.QueuesClient, *controlClient, error) {
	hc, server, opts, err := o.connection()
	if err != nil {
		return nil, nil, err
	}
	return kumov1connect.NewQueuesClient(hc, server, opts...), &controlClient{server: server}, nil
}

func newQueueCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Inspect an app's queues and their dead letters",
	}
	addClientFlags(cmd, &o)
	stats := &cobra.Command{
		Use:   "stats APP QUEUE",
		Short: "Show a queue's counters: ready, delayed, in flight, redeliveries, dead letters",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQueueStats(cmd, o, args[0], args[1])
		},
	}
	var dlq struct {
		requeue bool
		limit   int
		asJSON  bool
	}
	dead := &cobra.Command{
		Use:   "dlq APP QUEUE",
		Short: "List the messages of a queue that ran out of retries (or send them back with --requeue)",
		Long: `List the messages of QUEUE that ran out of retries: those moved to its
dead-letter queue (the consumer's dead_letter) and those kept on the queue
itself when it had none. With --requeue they are sent back to QUEUE with their
ids and bodies and fresh attempt counts.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dlq.requeue {
				return runQueueRequeue(cmd, o, args[0], args[1], dlq.limit)
			}
			return runQueueDLQ(cmd, o, args[0], args[1], dlq.limit, dlq.asJSON)
		},
	}
	dead.Flags().BoolVar(&dlq.requeue, "requeue", false, "send the dead letters back to the queue")
	dead.Flags().IntVar(&dlq.limit, "limit", 0, "at most this many messages (default 100 listed, all requeued)")
	dead.Flags().BoolVar(&dlq.asJSON, "json", false, "print one JSON object per message")
	cmd.AddCommand(stats, dead)
	return cmd
}

func runQueueStats(cmd *cobra.Command, o clientOptions, appName, q string) error {
	c, cc, err := o.queuesClient()
	if err != nil {
		return err
	}
	res, err := c.QueueStats(cmd.Context(), connect.NewRequest(&kumov1.QueueStatsRequest{App: appName, Queue: q}))
	if err != nil {
		return cc.explain(err)
	}
	m := res.Msg
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	consumer := "none (no consumer in the active version)"
	if m.GetConsumed() {
		consumer = "active version"
	}
	dl := m.GetDeadLetter()
	if dl == "" {
		dl = "none (kept on the queue)"
	}
	fmt.Fprintf(w, "queue\t%s/%s\n", appName, q)
	fmt.Fprintf(w, "consumer\t%s\n", consumer)
	fmt.Fprintf(w, "ready\t%d\n", m.GetReady())
	fmt.Fprintf(w, "delayed\t%d\n", m.GetDelayed())
	fmt.Fprintf(w, "in flight\t%d\n", m.GetInFlight())
	fmt.Fprintf(w, "redelivering\t%d\n", m.GetRedelivering())
	fmt.Fprintf(w, "delivered\t%d\n", m.GetDelivered())
	fmt.Fprintf(w, "dead letters\t%d\n", m.GetDead())
	fmt.Fprintf(w, "dead-letter queue\t%s\n", dl)
	return w.Flush()
}

func runQueueDLQ(cmd *cobra.Command, o clientOptions, appName, q string, limit int, asJSON bool) error {
	c, cc, err := o.queuesClient()
	if err != nil {
		return err
	}
	res, err := c.ListDeadLetters(cmd.Context(), connect.NewRequest(&kumov1.ListDeadLettersRequest{App: appName, Queue: q, Limit: int32(limit)}))
	if err != nil {
		return cc.explain(err)
	}
	out := cmd.OutOrStdout()
	msgs := res.Msg.GetMessages()
	if asJSON {
		enc := json.NewEncoder(out)
		for _, m := range msgs {
			if err := enc.Encode(map[string]any{
				"id": m.GetId(), "sent": m.GetSent().AsTime(), "dead_at": m.GetDeadAt().AsTime(),
				"attempts": m.GetAttempts(), "error": m.GetError(), "content_type": m.GetContentType(),
				"body": bodyText(m.GetBody(), m.GetContentType(), 0), "dead_letter": m.GetDeadLetter(),
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(msgs) == 0 {
		fmt.Fprintf(out, "no dead letters for %s/%s\n", appName, q)
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tDEAD AT\tATTEMPTS\tHELD IN\tERROR\tBODY")
	for _, m := range msgs {
		where := m.GetDeadLetter()
		if where == "" {
			where = q + " (dead)"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", m.GetId(), formatTime(m.GetDeadAt().AsTime()), m.GetAttempts(), where,
			oneLine(m.GetError(), 60), bodyText(m.GetBody(), m.GetContentType(), 60))
	}
	return w.Flush()
}

// bodyText shows a message body: JSON and text as they are, bytes in hex;
// cut to max runes when max > 0.
func bodyText(b []byte, contentType string, max int) string {
	var s string
	if contentType == "bytes" || !utf8.Valid(b) {
		s = fmt.Sprintf("%x", b)
	} else {
		s = string(b)
	}
	return oneLine(s, max)
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

func runQueueRequeue(cmd *cobra.Command, o clientOptions, appName, q string, limit int) error {
	c, cc, err := o.queuesClient()
	if err != nil {
		return err
	}
	res, err := c.RequeueDeadLetters(cmd.Context(), connect.NewRequest(&kumov1.RequeueDeadLettersRequest{App: appName, Queue: q, Limit: int32(limit)}))
	if err != nil {
		return cc.explain(err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "requeued %d message(s) to %s/%s\n", res.Msg.GetRequeued(), appName, q)
	return nil
}

func newTriggerCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "trigger",
		Short: "Fire an app's cron or queue handler by hand (for testing)",
	}
	addClientFlags(cmd, &o)
	cronCmd := &cobra.Command{
		Use:   "cron APP [CRON]",
		Short: "Run the scheduled handler of the app's active version now",
		Long: `Run the scheduled handler of APP's active version now, on the node that
answers, once for CRON (as kumo.yaml writes it) or once for each of its crons.
The handler gets scheduledTime = now. Exits non-zero when a run failed.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			expr := ""
			if len(args) == 2 {
				expr = args[1]
			}
			return runTriggerCron(cmd, o, args[0], expr)
		},
	}
	var qo struct {
		body, bodyFile, contentType string
		send                        bool
	}
	queueCmd := &cobra.Command{
		Use:   "queue APP QUEUE --body JSON",
		Short: "Run the queue handler of the app's active version on one message now",
		Long: `Run the queue handler of APP's active version now, on the node that answers,
with a batch of one message on QUEUE, and print what the handler decided
(ack, retry) and what it threw. Nothing goes through the queue and the
decision is not applied. With --send the message is sent to the queue
instead, and the consumers handle it as any other.

  kumo trigger queue shop tasks --body '{"order": 42}'
  kumo trigger queue shop tasks --content-type text --body hello
  kumo trigger queue shop tasks --body-file job.json --send`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body []byte
			switch {
			case qo.bodyFile == "-":
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("reading the body from standard input: %w", err)
				}
				body = b
			case qo.bodyFile != "":
				b, err := os.ReadFile(qo.bodyFile)
				if err != nil {
					return fmt.Errorf("reading the body: %w", err)
				}
				body = b
			case cmd.Flags().Changed("body"):
				body = []byte(qo.body)
			default:
				return fmt.Errorf("pass the message with --body or --body-file")
			}
			return runTriggerQueue(cmd, o, args[0], args[1], body, qo.contentType, qo.send)
		},
	}
	f := queueCmd.Flags()
	f.StringVar(&qo.body, "body", "", "the message body (JSON unless --content-type says otherwise)")
	f.StringVar(&qo.bodyFile, "body-file", "", "read the body from this file (- for standard input)")
	f.StringVar(&qo.contentType, "content-type", "json", "json, text or bytes")
	f.BoolVar(&qo.send, "send", false, "send the message to the queue instead of running the handler here")
	cmd.AddCommand(cronCmd, queueCmd)
	return cmd
}

func runTriggerCron(cmd *cobra.Command, o clientOptions, appName, expr string) error {
	c, cc, err := o.queuesClient()
	if err != nil {
		return err
	}
	res, err := c.TriggerCron(cmd.Context(), connect.NewRequest(&kumov1.TriggerCronRequest{App: appName, Cron: expr}))
	if err != nil {
		return cc.explain(err)
	}
	out := cmd.OutOrStdout()
	failed := 0
	for _, r := range res.Msg.GetRuns() {
		if r.GetError() != "" {
			failed++
			fmt.Fprintf(out, "cron %q (version %s): failed: %s\n", r.GetCron(), shortID(res.Msg.GetVersion()), r.GetError())
		} else {
			fmt.Fprintf(out, "cron %q (version %s): ok\n", r.GetCron(), shortID(res.Msg.GetVersion()))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d cron run(s) failed", failed, len(res.Msg.GetRuns()))
	}
	return nil
}

func runTriggerQueue(cmd *cobra.Command, o clientOptions, appName, q string, body []byte, contentType string, send bool) error {
	c, cc, err := o.queuesClient()
	if err != nil {
		return err
	}
	res, err := c.TriggerQueue(cmd.Context(), connect.NewRequest(&kumov1.TriggerQueueRequest{
		App: appName, Queue: q, Body: body, ContentType: contentType, Send: send}))
	if err != nil {
		return cc.explain(err)
	}
	m := res.Msg
	out := cmd.OutOrStdout()
	if send {
		fmt.Fprintf(out, "sent to %s/%s (%d bytes, %s)\n", appName, q, len(body), contentType)
		return nil
	}
	fmt.Fprintf(out, "message %s on %s/%s (version %s): %s\n", m.GetMessageId(), appName, q, shortID(m.GetVersion()), m.GetDecision())
	if m.GetError() != "" {
		return fmt.Errorf("the queue handler threw: %s", m.GetError())
	}
	return nil
}
