// Command kumo runs and manages the Kumo serverless platform.
package main

import (
	"os"

	"github.com/kumo-dev/kumo/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
