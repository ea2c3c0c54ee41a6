package templates

import (
	"embed"
	"io/fs"
)

// sequenceFiles holds the starter sequences that ship with the binary: the
// YAML files the sequence package reads (their format is described there
// and in the README). They live here, beside the emails they send, so that
// one directory holds all the content an operator may replace.
//
//go:embed sequences/*.yaml
var sequenceFiles embed.FS

// Sequences returns the embedded starter sequences, with the files at its
// root: onboarding.yaml and feature-lessons.yaml. NURTURE_SEQUENCES_DIR
// replaces them with a directory of the same layout.
func Sequences() fs.FS {
	sub, err := fs.Sub(sequenceFiles, "sequences")
	if err != nil {
		// "sequences" is a valid path that the embed directive guarantees.
		panic("templates: " + err.Error())
	}
	return sub
}
