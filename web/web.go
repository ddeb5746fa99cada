// Package web is what every HTTP handler of the gateway shares: the static
// assets, embedded in the binary so an install needs no files beside it and
// loads nothing from a CDN; WriteError, the one writer of JSON errors,
// which maps each error code to its HTTP status; and Bodies, which reads
// request bodies once the caller is known, within limits.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Static is the asset tree served under /static/, with index.html at /.
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the folder is embedded at build time; it cannot be missing
	}
	return sub
}
