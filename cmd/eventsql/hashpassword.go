package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/eventsql/eventsql/httpfront"
)

// runHashPassword prints the *HEX (mysql_native_password) form of a password read from
// stdin, for --user and --users-file without a clear-text password.
func runHashPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return errors.New("hash-password reads the password from stdin (not from arguments, which other users can see)")
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return errors.New("empty password")
	}
	fmt.Fprintln(stdout, httpfront.HashPassword(password))
	return nil
}
