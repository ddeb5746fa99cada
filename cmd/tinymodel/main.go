// Command tinymodel writes the tiny model (deploy/dev/tinymodel) that a real
// Ollama serves for the tests and `make engine`: tiny.gguf and a Modelfile
// in the folder given with -dir, ready for `ollama create tiny -f
// DIR/Modelfile`. The model answers "Hello from the tiny model." to any
// prompt.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/attach-dev/attach-gateway/deploy/dev/tinymodel"
)

func main() {
	dir := flag.String("dir", ".", "folder to write tiny.gguf and Modelfile into")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "tinymodel:", err)
		os.Exit(1)
	}
	modelfile, err := tinymodel.WriteFiles(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tinymodel:", err)
		os.Exit(1)
	}
	fmt.Println(modelfile)
}
