// Package bundle turns an app folder into one JavaScript bundle with a source map.
//
// It wraps esbuild's Go API: TypeScript and JSX are stripped, relative imports and
// pure-JS npm packages from the app's node_modules are inlined, and the result is a
// classic script (IIFE) that the engine evaluates as a global script.
package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// GlobalName is the global variable the bundle assigns the entry module's exports
// namespace to.
const GlobalName = "__kumo_main"

// BundleFileName is the script name the engine gives the bundle when it evaluates
// it, so that stack traces say "bundle.js:LINE:COL" and RewriteStack can find them.
const BundleFileName = "bundle.js"

// entryCandidates are the files Build looks for, in order, when neither
// Options.Entry nor package.json "main" names the entry. Read only.
var entryCandidates = []string{
	"index.ts", "index.tsx", "index.js", "index.mjs", "src/index.ts", "src/index.js",
}

// Options says what to bundle.
type Options struct {
	Dir    string // app folder
	Entry  string // optional entry path relative to Dir; "" = detect
	Minify bool   // default false
}

// Result is one bundle and what it was made from.
type Result struct {
	// Code is a classic script (not a module) of the form
	// `var __kumo_main = (() => {...})();`: evaluating it as a global script leaves
	// globalThis.__kumo_main = { default: ..., ...named exports }. The exports are
	// enumerable getters (live bindings), and esbuild adds a non-enumerable
	// __esModule: true.
	Code string
	// SourceMap is the parsed source map of Code; SourceMapJSON is its raw JSON
	// (source map v3), to store beside Code and parse again with ParseSourceMap.
	SourceMap     *SourceMap
	SourceMapJSON []byte
	// Entry is the entry path relative to Dir (slash-separated) that was used.
	Entry string
	// Inputs lists every file that went into the bundle (absolute paths, sorted),
	// plus Dir/package.json when it exists because it can pick the entry; it is
	// meant for file watching.
	Inputs []string
	// Hash is the hex SHA-256 of Code.
	Hash string
}

// Build bundles the app in opts.Dir. Problems in the user's code (syntax errors,
// unresolved imports, Node built-ins) come back as an *Error, wrapped.
func Build(opts Options) (*Result, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("bundling %s: %w", opts.Dir, err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("bundling %s: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("bundling %s: not a directory", dir)
	}
	entry, err := findEntry(dir, opts.Entry)
	if err != nil {
		return nil, fmt.Errorf("bundling %s: %w", dir, err)
	}

	res := api.Build(esbuildOptions(dir, entry, opts.Minify))
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("bundling %s: %w", dir, newError(res.Errors))
	}

	var code, mapJSON []byte
	for _, f := range res.OutputFiles {
		switch {
		case strings.HasSuffix(f.Path, ".js.map"):
			mapJSON = f.Contents
		case strings.HasSuffix(f.Path, ".js"):
			code = f.Contents
		}
	}
	if code == nil || mapJSON == nil {
		return nil, fmt.Errorf("bundling %s: esbuild returned %d output files, want the bundle and its source map", dir, len(res.OutputFiles))
	}
	sm, err := ParseSourceMap(mapJSON)
	if err != nil {
		return nil, fmt.Errorf("bundling %s: reading esbuild's source map: %w", dir, err)
	}
	inputs, err := metafileInputs(dir, res.Metafile)
	if err != nil {
		return nil, fmt.Errorf("bundling %s: %w", dir, err)
	}
	sum := sha256.Sum256(code)
	return &Result{
		Code:          string(code),
		SourceMap:     sm,
		SourceMapJSON: mapJSON,
		Entry:         entry,
		Inputs:        inputs,
		Hash:          hex.EncodeToString(sum[:]),
	}, nil
}

// esbuildOptions holds every esbuild setting in one place.
func esbuildOptions(dir, entry string, minify bool) api.BuildOptions {
	return api.BuildOptions{
		AbsWorkingDir: dir,
		EntryPoints:   []string{filepath.Join(dir, filepath.FromSlash(entry))},
		Bundle:        true,
		Format:        api.FormatIIFE,
		GlobalName:    GlobalName,
		// Neutral, not browser or node: the runtime is Workers-like (Web APIs, no
		// Node built-ins), and neutral keeps esbuild from assuming either.
		Platform: api.PlatformNeutral,
		Target:   api.ES2023, // what QuickJS supports
		// Neutral sets no main fields or conditions; these pick the ESM or browser
		// build of a package, which is the one meant for a Workers-like runtime.
		MainFields: []string{"module", "main"},
		Conditions: []string{"worker", "browser", "import", "default"},
		ResolveExtensions: []string{
			".tsx", ".ts", ".jsx", ".js", ".mjs", ".cjs", ".json",
		},
		Loader: map[string]api.Loader{
			".js":   api.LoaderJS,
			".mjs":  api.LoaderJS,
			".cjs":  api.LoaderJS,
			".ts":   api.LoaderTS,
			".tsx":  api.LoaderTSX,
			".jsx":  api.LoaderJSX,
			".json": api.LoaderJSON,
			".txt":  api.LoaderText,
		},
		// The output path is never written (Write is false); it only anchors the
		// source map's "sources", which esbuild makes relative to the output's
		// folder, so putting it in dir makes them relative to dir. The name is
		// unlikely to clash with an app file, which esbuild would refuse to overwrite.
		Outfile:           filepath.Join(dir, "__kumo_bundle_out.js"),
		Write:             false,
		Sourcemap:         api.SourceMapExternal,
		Metafile:          true,
		LogLevel:          api.LogLevelSilent,
		MinifyWhitespace:  minify,
		MinifyIdentifiers: minify,
		MinifySyntax:      minify,
		// "cloudflare:workers" and "kumo" (virtual.go).
		Plugins: []api.Plugin{virtualModulesPlugin()},
	}
}

// findEntry returns the entry path relative to dir, slash-separated.
func findEntry(dir, entry string) (string, error) {
	if entry != "" {
		rel := entry
		if filepath.IsAbs(entry) {
			r, err := filepath.Rel(dir, entry)
			if err != nil {
				return "", fmt.Errorf("finding entry %s: %w", entry, err)
			}
			rel = r
		}
		if !isFile(filepath.Join(dir, rel)) {
			return "", fmt.Errorf("entry %s does not exist in %s", entry, dir)
		}
		return filepath.ToSlash(filepath.Clean(rel)), nil
	}

	main, err := packageMain(dir)
	if err != nil {
		return "", err
	}
	if main != "" {
		// Like Node, "main" may leave out the extension or name a folder.
		for _, cand := range []string{
			main, main + ".ts", main + ".tsx", main + ".js", main + ".mjs",
			main + "/index.ts", main + "/index.js",
		} {
			if isFile(filepath.Join(dir, filepath.FromSlash(cand))) {
				return filepath.ToSlash(filepath.Clean(cand)), nil
			}
		}
		// A "main" that points at nothing is a mistake worth reporting rather than
		// silently bundling some other index file.
		return "", fmt.Errorf("package.json \"main\" is %q but no such file exists", main)
	}

	for _, cand := range entryCandidates {
		if isFile(filepath.Join(dir, filepath.FromSlash(cand))) {
			return cand, nil
		}
	}
	return "", fmt.Errorf("no entry point found: looked for package.json \"main\", %s", strings.Join(entryCandidates, ", "))
}

// packageMain returns the "main" field of dir/package.json, or "" when there is
// no package.json or no "main".
func packageMain(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading package.json: %w", err)
	}
	var pkg struct {
		Main string `json:"main"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("reading package.json: %w", err)
	}
	return strings.TrimPrefix(pkg.Main, "./"), nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// metafileInputs returns the absolute paths of the files esbuild read, from its
// metafile, whose input keys are relative to the working directory.
func metafileInputs(dir, metafile string) ([]string, error) {
	var meta struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(metafile), &meta); err != nil {
		return nil, fmt.Errorf("reading esbuild's metafile: %w", err)
	}
	inputs := make([]string, 0, len(meta.Inputs)+1)
	for key := range meta.Inputs {
		p := filepath.Join(dir, filepath.FromSlash(key))
		// Inputs in a non-file namespace ("ns:path") are not files to watch.
		if isFile(p) {
			inputs = append(inputs, p)
		}
	}
	if pj := filepath.Join(dir, "package.json"); isFile(pj) {
		inputs = append(inputs, pj)
	}
	slices.Sort(inputs)
	return inputs, nil
}
