//go:build linux

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/httpfront"
)

// eventsqlServer is `eventsql serve` on the loaded data directory, in a
// process of its own so its memory is measured apart from the client's.
type eventsqlServer struct {
	sqlAddr string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// startEventsql starts bin on dataDir with SQL on a free loopback port and
// waits until it answers over SQL.
func startEventsql(ctx context.Context, bin, dataDir, logPath string, queryTimeout time.Duration) (*eventsqlServer, error) {
	httpAddr, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	sqlAddr, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	s := &eventsqlServer{sqlAddr: sqlAddr, logPath: logPath}
	// Not CommandContext: stopped with SIGTERM in stop, in its own process
	// group so a terminal's Ctrl-C reaches only this program.
	s.cmd = exec.Command(bin, "serve", "--data", dataDir, "--http", httpAddr, "--mysql", sqlAddr,
		"--query-timeout", queryTimeout.String(), "--log-level", "warn")
	s.cmd.Stdout = logf
	s.cmd.Stderr = logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// config is the driver configuration of the admin user.
func (s *eventsqlServer) config() *mysql.Config { return eventsqlConfig(s.sqlAddr) }

// eventsqlConfig is the admin user's driver configuration for a server at
// addr. Arguments are interpolated by the client, as for MariaDB: one
// round trip per query on both.
func eventsqlConfig(addr string) *mysql.Config {
	c := mysql.NewConfig()
	c.User = "admin"
	c.Passwd = httpfront.DefaultAdminPassword
	c.Net = "tcp"
	c.Addr = addr
	c.DBName = "eventsql"
	c.AllowNativePasswords = true
	c.InterpolateParams = true
	return c
}

// waitReady pings over SQL until it answers, the process exits or 60 s pass.
func (s *eventsqlServer) waitReady(ctx context.Context) error {
	db, err := sql.Open("mysql", s.config().FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err = db.PingContext(ctx); err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("eventsql exited before it was ready (%v); its log:\n%s", s.waitErr, benchproc.Tail(s.logPath))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("eventsql not answering over SQL after 60s: %w", err)
		}
	}
}

func (s *eventsqlServer) pid() int { return s.cmd.Process.Pid }

// stop shuts the server down (SIGTERM, SIGKILL after 30 s). Safe to call
// more than once.
func (s *eventsqlServer) stop() error {
	if s.exited == nil {
		return nil
	}
	var err error
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			err = errors.New("eventsql did not stop within 30s of SIGTERM; killed")
		}
	}
	if err == nil && s.waitErr != nil {
		err = fmt.Errorf("eventsql exited: %w; its log:\n%s", s.waitErr, benchproc.Tail(s.logPath))
	}
	s.exited = nil
	return err
}
