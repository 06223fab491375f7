package manifest

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/adhocore/gronx"
)

// Schedule is a parsed cron expression: five fields (minute, hour, day of
// month, month, day of week) with the standard (Vixie cron) meaning,
// including "either day field matches" when both day fields are
// restricted. Parsing and matching are github.com/adhocore/gronx's; this
// type only narrows what it accepts to standard cron. The zero Schedule
// never fires.
type Schedule struct {
	expr string // normalized: five fields separated by one space
}

// cronMacros are the standard @-shorthands. Read only.
var cronMacros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// cronFields names the five fields, with the names (if any) each accepts.
var cronFields = [5]struct {
	name  string
	names []string
}{
	{name: "minute"},
	{name: "hour"},
	{name: "day-of-month"},
	{name: "month", names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{name: "day-of-week", names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// cronPart is one comma-separated part of a field: *, a value or a range,
// with an optional step. Extensions (L, W, #, ?) and seconds are refused.
var cronPart = regexp.MustCompile(`^(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?$`)

// cronSearchFrom is where ParseCron looks for a first firing, to refuse
// expressions that can never fire (February 30th).
var cronSearchFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ParseCron parses a standard five-field cron expression ("*/5 * * * *",
// "0 9 * * MON-FRI") or one of @yearly, @annually, @monthly, @weekly,
// @daily, @midnight, @hourly. The error names the field at fault.
func ParseCron(expr string) (Schedule, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "@") {
		m, ok := cronMacros[strings.ToLower(e)]
		if !ok {
			return Schedule{}, fmt.Errorf("cron %q: unknown shorthand (use @yearly, @monthly, @weekly, @daily or @hourly)", expr)
		}
		e = m
	}
	fields := strings.Fields(e)
	if len(fields) != 5 {
		return Schedule{}, fmt.Errorf("cron %q: want 5 fields (minute hour day-of-month month day-of-week), found %d", expr, len(fields))
	}
	checker := &gronx.SegmentChecker{}
	checker.SetRef(cronSearchFrom)
	for i, f := range fields {
		def := cronFields[i]
		for part := range strings.SplitSeq(f, ",") {
			if !cronPart.MatchString(part) {
				return Schedule{}, fmt.Errorf("cron %q: %s field %q: want *, N, N-M or a list of them, each with an optional /STEP", expr, def.name, f)
			}
			for tok := range strings.FieldsFuncSeq(part, func(r rune) bool { return r == '-' || r == '/' }) {
				if tok[0] >= '0' && tok[0] <= '9' || tok == "*" {
					continue
				}
				if !containsFold(def.names, tok) {
					if def.names == nil {
						return Schedule{}, fmt.Errorf("cron %q: %s field %q: %q is not a number", expr, def.name, f, tok)
					}
					return Schedule{}, fmt.Errorf("cron %q: %s field %q: %q is not a number or one of %s", expr, def.name, f, tok, strings.Join(def.names, ","))
				}
			}
		}
		segs, err := gronx.Segments(f + strings.Repeat(" *", 4)) // one field, normalized by gronx
		if err != nil {
			return Schedule{}, fmt.Errorf("cron %q: %s field %q: %v", expr, def.name, f, err)
		}
		// gronx's positions count a leading seconds field.
		if _, err := checker.CheckDue(segs[1], i+1); err != nil {
			return Schedule{}, fmt.Errorf("cron %q: %s field %q: %s", expr, def.name, f, cronReason(err))
		}
	}
	s := Schedule{expr: strings.Join(fields, " ")}
	if !gronx.IsValid(s.expr) {
		return Schedule{}, fmt.Errorf("cron %q: not a valid expression", expr)
	}
	if s.Next(cronSearchFrom).IsZero() {
		return Schedule{}, fmt.Errorf("cron %q: never fires (no such date)", expr)
	}
	return s, nil
}

// cronReason rewords gronx's errors without its segment numbering.
func cronReason(err error) string {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "segment#") {
		msg = rest
	}
	if strings.Contains(msg, "strconv") {
		return "not a number"
	}
	return msg
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Next returns the first time after t (strictly) at which the schedule
// fires, in t's location and to the minute; the zero time when it does not
// fire within the search horizon (a few years). Kumo evaluates crons in
// UTC: pass UTC times.
func (s Schedule) Next(t time.Time) time.Time {
	if s.expr == "" {
		return time.Time{}
	}
	next, err := gronx.NextTickAfter(s.expr, t, false)
	if err != nil || !next.After(t) {
		return time.Time{}
	}
	return next
}

// String returns the expression in normalized form (macros expanded,
// single spaces).
func (s Schedule) String() string { return s.expr }
