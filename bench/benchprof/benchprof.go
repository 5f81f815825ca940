// Package benchprof starts the CPU profile and execution trace that every
// benchmark command offers (-cpuprofile, -trace).
package benchprof

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// CPU starts a CPU profile into path ("" = none); call the returned stop
// function when the measurement ends.
func CPU(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Trace starts an execution trace into path ("" = none).
func Trace(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("trace: %w", err)
	}
	return func() { trace.Stop(); f.Close() }, nil
}
