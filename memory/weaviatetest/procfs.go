package weaviatetest

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc CPU times: USER_HZ, 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// allStopped tells whether every thread of process pid is stopped by a
// signal (state T in /proc/PID/task/TID/stat).
func allStopped(pid int) (bool, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false, fmt.Errorf("list server threads: %w", err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue // the thread has exited
		}
		fields, err := statFields(string(b))
		if err != nil {
			return false, err
		}
		if fields[0] != "T" && fields[0] != "t" {
			return false, nil
		}
	}
	return true, nil
}

// CPUTime is the processor time (user and system) the running server has
// used since it started, read from /proc. Benchmarks use it to report what
// a workload costs Weaviate, which depends far less on what else the
// machine is doing than elapsed time does.
func (s *Server) CPUTime() (time.Duration, error) {
	s.mu.Lock()
	proc := s.proc
	s.mu.Unlock()
	if proc == nil {
		return 0, errors.New("the server is not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", proc.Cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read server CPU time: %w", err)
	}
	return parseCPUTime(string(b))
}

// parseCPUTime reads utime and stime, fields 14 and 15 of /proc/PID/stat.
func parseCPUTime(stat string) (time.Duration, error) {
	fields, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	// fields[0] is field 3 (state), so field n is fields[n-3].
	if len(fields) < 13 {
		return 0, errors.New("parse /proc stat: too few fields")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// statFields splits a /proc stat line after the command name, field 2,
// which is in parentheses and may hold spaces and parentheses itself: the
// result starts at field 3, the state.
func statFields(stat string) ([]string, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, errors.New("parse /proc stat: no command name")
	}
	fields := strings.Fields(stat[i+1:])
	if len(fields) == 0 {
		return nil, errors.New("parse /proc stat: no fields")
	}
	return fields, nil
}
