package main

import (
	"os"
	"strconv"
)

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func itoa(n int) string { return strconv.Itoa(n) }
