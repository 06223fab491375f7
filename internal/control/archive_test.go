package control

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/app"
)

func zipWith(t *testing.T, entries ...*zip.FileHeader) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, h := range entries {
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Mode().IsDir() {
			if _, err := w.Write([]byte("content of " + h.Name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func entry(name string, mode fs.FileMode) *zip.FileHeader {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(mode)
	return h
}

func TestUnpackZip(t *testing.T) {
	lim := unpackLimits{maxBytes: 1 << 20, maxFiles: 10}
	cases := []struct {
		name    string
		entries []*zip.FileHeader
		lim     unpackLimits
		want    string // "" = success
	}{
		{"ok", []*zip.FileHeader{entry("a/", fs.ModeDir|0o755), entry("a/b.js", 0o644), entry("./c.js", 0o644)}, lim, ""},
		{"symlink", []*zip.FileHeader{entry("l", fs.ModeSymlink|0o777)}, lim, `"l": symbolic links`},
		{"device", []*zip.FileHeader{entry("d", fs.ModeDevice|0o644)}, lim, "device files"},
		{"pipe", []*zip.FileHeader{entry("p", fs.ModeNamedPipe|0o644)}, lim, "named pipes"},
		{"backslash", []*zip.FileHeader{entry(`..\x.js`, 0o644)}, lim, "backslash"},
		{"drive", []*zip.FileHeader{entry("C:/x.js", 0o644)}, lim, "absolute path"},
		{"twice", []*zip.FileHeader{entry("x.js", 0o644), entry("./x.js", 0o644)}, lim, "appears twice"},
		{"too many", []*zip.FileHeader{entry("1", 0o644), entry("2", 0o644), entry("3", 0o644)}, unpackLimits{maxBytes: 1 << 20, maxFiles: 2}, "more than 2 entries"},
		{"too big", []*zip.FileHeader{entry("1", 0o644), entry("2", 0o644)}, unpackLimits{maxBytes: 20, maxFiles: 10}, "more than 20 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := unpack(zipWith(t, tc.entries...), FormatZip, dir, tc.lim)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(filepath.Join(dir, "a", "b.js")); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestAppRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "__MACOSX"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := appRoot(dir); got != filepath.Join(dir, "app") {
		t.Errorf("one folder: %s", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := appRoot(dir); got != dir {
		t.Errorf("folder and file: %s", got)
	}
}

func TestErrorTable(t *testing.T) {
	seen := map[string]bool{}
	for r, def := range errorTable {
		if def.id == "" || def.format == "" || def.code == 0 {
			t.Errorf("reason %d has an empty row", r)
		}
		if seen[def.id] {
			t.Errorf("reason id %s used twice", def.id)
		}
		seen[def.id] = true
	}
	if got := Reason(fail(reasonHostTaken, "h", "a")); got != "HOST_TAKEN" {
		t.Errorf("Reason = %q", got)
	}
}

func TestActivate(t *testing.T) {
	cases := []struct {
		active  string // "v:p,v:p"
		id      string
		percent int
		want    string
	}{
		{"", "n", 10, "n:100"},
		{"a:100", "n", 0, "n:100"},
		{"a:100", "n", 100, "n:100"},
		{"a:100", "n", 10, "n:10,a:90"},
		{"r:10,s:90", "n", 25, "n:25,s:75"},
		{"r:10,s:90", "s", 25, "s:100"},
		{"a:100", "a", 10, "a:100"},
	}
	for _, tc := range cases {
		got := activate(parseSplits(tc.active), tc.id, tc.percent)
		if s := formatSplits(got); s != tc.want {
			t.Errorf("activate(%s, %s, %d) = %s, want %s", tc.active, tc.id, tc.percent, s, tc.want)
		}
	}
}

func parseSplits(s string) []app.Split {
	var out []app.Split
	if s == "" {
		return nil
	}
	for part := range strings.SplitSeq(s, ",") {
		v, p, _ := strings.Cut(part, ":")
		n, _ := strconv.Atoi(p)
		out = append(out, app.Split{Version: v, Percent: n})
	}
	return out
}

func formatSplits(ss []app.Split) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Version + ":" + strconv.Itoa(s.Percent)
	}
	return strings.Join(parts, ",")
}
