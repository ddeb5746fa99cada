package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cpuSplit divides the machine for the "db apart" phases: Postgres gets the
// last CPU to itself, and the gateway, wrk and the stand-in engine share the
// others. A hosted install runs Postgres on its own server; on one machine
// this is the nearest to it, so that what mirroring costs the gateway is not
// mixed up with Postgres taking CPU from it.
type cpuSplit struct {
	front, db unix.CPUSet
}

// splitCPUs returns the split of the CPUs this process may use, or false on
// a machine with a single one.
func splitCPUs() (cpuSplit, bool) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil || all.Count() < 2 {
		return cpuSplit{}, false
	}
	var s cpuSplit
	last := -1
	for cpu := range maxCPUs {
		if all.IsSet(cpu) {
			last = cpu
		}
	}
	for cpu := range last {
		if all.IsSet(cpu) {
			s.front.Set(cpu)
		}
	}
	s.db.Set(last)
	return s, true
}

// maxCPUs is the kernel's CPU_SETSIZE, the most CPUs a CPUSet holds.
const maxCPUs = 1024

// pinThreads sets the CPUs of every thread of process pid. Threads and
// children started later inherit the set from the thread that starts them.
func pinThreads(pid int, set *unix.CPUSet) error {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return fmt.Errorf("list the threads of %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("set the CPUs of thread %d of %d: %w", tid, pid, err)
		}
	}
	return nil
}

// descendants lists the processes below pid: for a gateway, its embedded
// Postgres server and that server's backends.
func descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// The command name is in parentheses and may hold spaces; the
		// parent's pid is the second field after it.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	queue := children[pid]
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, children[p]...)
	}
	return out, nil
}

// separateDatabase pins this process (the stand-in engine, and wrk, which
// it starts) and the gateways to the front CPUs, and the gateways' Postgres
// processes to the database CPU.
func separateDatabase(split cpuSplit, gateways []int) error {
	if err := pinThreads(os.Getpid(), &split.front); err != nil {
		return err
	}
	for _, gw := range gateways {
		if err := pinThreads(gw, &split.front); err != nil {
			return err
		}
		below, err := descendants(gw)
		if err != nil {
			return err
		}
		if len(below) == 0 {
			return fmt.Errorf("gateway %d runs no Postgres of its own to move", gw)
		}
		for _, p := range below {
			if err := pinThreads(p, &split.db); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}
