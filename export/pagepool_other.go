//go:build !linux

package export

func adviseHugePages([]byte) {}
