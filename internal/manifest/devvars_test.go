package manifest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDevVars(t *testing.T) {
	src := "# comment\n\nA=plain value # trailing comment\nexport B = \"two\\nlines \\\"quoted\\\"\" # c\nC='raw \\n $x'\r\nD=\nE=a=b\n"
	got, err := ParseDevVars([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "plain value", "B": "two\nlines \"quoted\"", "C": `raw \n $x`, "D": "", "E": "a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, tc := range []struct{ src, want string }{
		{"A\n", ".dev.vars:1: want KEY=VALUE"},
		{"\nA-B=x\n", ".dev.vars:2: name \"A-B\" must match"},
		{"A=\"open\n", ".dev.vars:1: A: the double quote is not closed"},
		{"A='open\n", ".dev.vars:1: A: the single quote is not closed"},
		{"A=1\nA=2\n", ".dev.vars:2: A is set twice"},
		{"A=\"s3cret\\q\"\n", ".dev.vars:1: A: bad escape"},
	} {
		_, err := ParseDevVars([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error quotes a value: %v", err)
		}
	}
}
