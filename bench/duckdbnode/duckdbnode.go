//go:build linux

// Package duckdbnode runs DuckDB, the baseline some benchmarks measure
// eventsql against, through its Node.js client: it installs node, npm
// and the pinned client package when missing, and runs a script that
// prints one JSON line.
package duckdbnode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/bench/mariadb"
)

// Package is the DuckDB Node.js client, pinned so runs compare (the
// end-to-end tests pin the same one in scripts/deps.sh).
const Package = "@duckdb/node-api@1.5.6-r.1"

// Ensure installs node and npm (Debian) and Package (npm, into nodeDir)
// when missing, unless install is false, and returns the package's
// directory, which scripts require().
func Ensure(ctx context.Context, nodeDir string, install bool, progress func(string, ...any)) (string, error) {
	abs, err := filepath.Abs(nodeDir)
	if err != nil {
		return "", err
	}
	mod := filepath.Join(abs, "node_modules", "@duckdb", "node-api")
	if _, err := os.Stat(filepath.Join(mod, "package.json")); err == nil && benchproc.LookPath("node") != "" {
		return mod, nil
	}
	if !install {
		return "", fmt.Errorf("%s or node missing (allow installing to get them)", mod)
	}
	if benchproc.LookPath("node") == "" || benchproc.LookPath("npm") == "" {
		progress("installing nodejs and npm with apt-get")
		if err := mariadb.AptInstall(ctx, "nodejs", "npm"); err != nil {
			return "", err
		}
	}
	progress("installing %s into %s with npm", Package, abs)
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", abs, "--no-audit", "--no-fund", Package)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %w\n%s", Package, err, out)
	}
	return mod, nil
}

// Run writes script into dir as name and runs it with node, passing mod
// (the package directory) then args, and decodes the JSON line it prints
// into out. It returns node's resource usage (its peak RSS).
func Run(ctx context.Context, mod, dir, name, script string, out any, args ...string) (*syscall.Rusage, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(path)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", append([]string{path, mod}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node %s: %w\n%s", path, err, stderr.Bytes())
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), out); err != nil {
		return nil, fmt.Errorf("DuckDB script %s printed %q: %w", name, stdout.Bytes(), err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return ru, nil
}
