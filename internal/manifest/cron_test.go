package manifest

import (
	"strings"
	"testing"
	"time"
)

func TestParseCron(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ expr, from, next string }{
		{"*/5 * * * *", "2025-01-01 10:02:30", "2025-01-01 10:05:00"},
		{"*/5 * * * *", "2025-01-01 10:05:00", "2025-01-01 10:10:00"}, // strictly after
		{"* * * * *", "2025-01-01 10:00:59", "2025-01-01 10:01:00"},
		{"0 9 * * MON-FRI", "2025-01-04 12:00:00", "2025-01-06 09:00:00"}, // Saturday → Monday
		{"0 0 1 jan *", "2025-03-01 00:00:00", "2026-01-01 00:00:00"},
		{"0 0 29 2 *", "2025-03-01 00:00:00", "2028-02-29 00:00:00"},
		{"@hourly", "2025-01-01 10:59:59", "2025-01-01 11:00:00"},
		{"@Daily", "2025-01-01 10:00:00", "2025-01-02 00:00:00"},
		{"0 0 * * 7", "2025-01-01 00:00:00", "2025-01-05 00:00:00"}, // 7 is Sunday
		// Both day fields restricted: either matches (standard cron).
		{"0 0 13 * 5", "2025-06-01 00:00:00", "2025-06-06 00:00:00"},
		// A day-of-week starting with * restricts together with the day of month.
		{"0 0 1-7 * */7", "2025-06-02 00:00:00", "2025-07-06 00:00:00"},
	} {
		s, err := ParseCron(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if got := s.Next(at(tc.from)); !got.Equal(at(tc.next)) {
			t.Errorf("%q after %s: %s, want %s", tc.expr, tc.from, got, tc.next)
		}
	}
	for _, tc := range []struct{ expr, want string }{
		{"", "want 5 fields"},
		{"* * * * * *", "want 5 fields (minute hour day-of-month month day-of-week), found 6"},
		{"@every 5m", "unknown shorthand"},
		{"61 * * * *", `minute field "61": '61' out of bounds(0, 59)`},
		{"* 24 * * *", `hour field "24"`},
		{"* * 0 * *", `day-of-month field "0"`},
		{"* * * 13 *", `month field "13"`},
		{"* * * * 8", `day-of-week field "8"`},
		{"*/0 * * * *", `minute field "*/0": step can't be 0`},
		{"MON * * * *", `minute field "MON": "MON" is not a number`},
		{"* * * FOO *", `month field "FOO": "FOO" is not a number or one of JAN,FEB`},
		{"0 0 L * *", `day-of-month field "L"`},
		{"0 0 ? * *", `day-of-month field "?"`},
		{"0 0 * * 1#2", `day-of-week field "1#2"`},
		{"1,,2 * * * *", `minute field "1,,2"`},
		{"0 0 30 2 *", "never fires"},
	} {
		_, err := ParseCron(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.expr, err, tc.want)
		}
	}
	var zero Schedule
	if !zero.Next(time.Now()).IsZero() {
		t.Error("zero schedule fires")
	}
}

func BenchmarkScheduleNext(b *testing.B) {
	s, err := ParseCron("*/5 9-17 * * MON-FRI")
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		t = s.Next(t)
	}
}
