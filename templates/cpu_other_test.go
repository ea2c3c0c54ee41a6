//go:build !unix

package templates

// processCPU is not measured here.
func processCPU() int64 { return 0 }
