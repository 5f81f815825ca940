//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
	"github.com/eventsql/eventsql/bench/benchproc"
)

// userHZ is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const userHZ = 100

// cpuSample is CPU time used so far by the server, this process (the load
// generator) and the whole machine, at one instant.
type cpuSample struct {
	at                 time.Time
	server, self, busy float64 // seconds
	serverPid          int
}

func sampleCPU(serverPid int) cpuSample {
	return cpuSample{at: time.Now(), server: benchproc.CPUSeconds(serverPid), self: benchproc.CPUSeconds(os.Getpid()), busy: machineBusy(), serverPid: serverPid}
}

// CPUUse is the average number of cores busy over a measurement.
type CPUUse struct {
	Server  float64 `json:"serverCores"`  // the server process
	Client  float64 `json:"clientCores"`  // this process, the load generator (includes the server when in-process)
	Machine float64 `json:"machineCores"` // all processes, of NumCPU
}

func (a cpuSample) until(b cpuSample) CPUUse {
	d := b.at.Sub(a.at).Seconds()
	if d <= 0 {
		return CPUUse{}
	}
	u := CPUUse{Server: (b.server - a.server) / d, Client: (b.self - a.self) / d, Machine: (b.busy - a.busy) / d}
	if a.serverPid == os.Getpid() {
		u.Client = 0 // one process: Server holds both
	}
	return u
}

// Others is what other processes (and the kernel's own threads) used:
// on a shared machine, the interference a figure suffered.
func (u CPUUse) Others() float64 { return max(0, u.Machine-u.Server-u.Client) }

func (u CPUUse) String() string {
	if u.Client == 0 {
		return fmt.Sprintf("cores: server+client %s, others %s", benchfmt.Num(u.Server), benchfmt.Num(u.Others()))
	}
	return fmt.Sprintf("cores: server %s, client %s, others %s", benchfmt.Num(u.Server), benchfmt.Num(u.Client), benchfmt.Num(u.Others()))
}

// machineBusy returns the CPU seconds all cores spent neither idle nor
// waiting for I/O, from /proc/stat.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0
		}
		busy += n
	}
	return busy / userHZ
}
