//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/eventsql/eventsql/bench/benchfmt"
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
	return cpuSample{at: time.Now(), server: procCPU(serverPid), self: procCPU(os.Getpid()), busy: machineBusy(), serverPid: serverPid}
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

// procCPU returns a process's user+system CPU seconds (0 if unknown).
func procCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields count from after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseFloat(string(f[11]), 64)
	st, err2 := strconv.ParseFloat(string(f[12]), 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return (ut + st) / userHZ
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
