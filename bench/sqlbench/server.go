//go:build linux

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/eventsql/eventsql/bench/benchproc"
	"github.com/eventsql/eventsql/httpfront"
)

// eventsqlServer is `eventsql serve` on the loaded data directory, in a
// process of its own so its memory is measured apart from the client's.
type eventsqlServer struct {
	sqlAddr  string
	httpAddr string
	proc     *benchproc.Child
}

// startEventsql starts bin on dataDir with SQL on a free loopback port and
// waits until it answers over SQL.
func startEventsql(ctx context.Context, bin, dataDir, logPath string, queryTimeout time.Duration, indexCache int64) (*eventsqlServer, error) {
	httpAddr, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	sqlAddr, err := benchproc.FreeAddr()
	if err != nil {
		return nil, err
	}
	proc, err := benchproc.StartChild(benchproc.ChildSpec{Name: "eventsql", Bin: bin, Output: logPath,
		Args: []string{"serve", "--data", dataDir, "--http", httpAddr, "--mysql", sqlAddr,
			"--query-timeout", queryTimeout.String(), "--index-cache", fmt.Sprint(indexCache), "--log-level", "warn"}})
	if err != nil {
		return nil, err
	}
	s := &eventsqlServer{sqlAddr: sqlAddr, httpAddr: httpAddr, proc: proc}
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
		if err := s.proc.ExitedEarly(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("eventsql not answering over SQL after 60s: %w", err)
		}
	}
}

func (s *eventsqlServer) pid() int { return s.proc.PID() }

// stop shuts the server down (SIGTERM, SIGKILL after 30 s). Safe to call
// more than once.
func (s *eventsqlServer) stop() error { return s.proc.Stop(30 * time.Second) }

// warming asks GET /stats whether the server still warms its caches after
// opening the store.
func (s *eventsqlServer) warming(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+"/stats", nil)
	if err != nil {
		return false, err
	}
	req.SetBasicAuth("admin", httpfront.DefaultAdminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET /stats: %s", resp.Status)
	}
	var st struct {
		Warming bool `json:"warming"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return false, fmt.Errorf("GET /stats: %w", err)
	}
	return st.Warming, nil
}
