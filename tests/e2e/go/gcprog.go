// A Go program with known GC numbers for memtrace's tests (t30-go-gc.sh).
// Standard library only. Usage: gcprog FIFO_START FIFO_END CYCLES [ALLOCS]
//
//	prints "ready", blocks opening FIFO_START (the test opens it once
//	memtrace is attached); reads MemStats; allocates and forces CYCLES
//	collections with runtime.GC(); debug.FreeOSMemory (one more cycle,
//	sweeping done, nothing left to scavenge); prints "parked" with a raw
//	write (no allocation) and blocks opening FIFO_END, so memtrace reads
//	its memory while nothing in it moves; then reads MemStats at once and
//	prints both readings as "key value" lines. ALLOCS (default 20000):
//	objects allocated per cycle, a quarter of them kept; 0 for many
//	cycles quickly.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
)

type Session struct {
	id   int
	buf  [96]byte
	next *Session
}

var keep []*Session
var sink *Session
var before, after runtime.MemStats

//go:noinline
func newSession(i int) *Session { return &Session{id: i} }

func block(path string) {
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
	if err != nil {
		os.Exit(3)
	}
	syscall.Close(fd)
}

func main() {
	if len(os.Args) != 4 && len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: gcprog FIFO_START FIFO_END CYCLES [ALLOCS]")
		os.Exit(2)
	}
	cycles, _ := strconv.Atoi(os.Args[3])
	allocs := 20000
	if len(os.Args) == 5 {
		allocs, _ = strconv.Atoi(os.Args[4])
	}
	parked := []byte("parked\n")
	endPath := os.Args[2]
	// The settings in force (GOGC, GOMEMLIMIT from the environment),
	// asked before memtrace attaches: SetGCPercent sets while it asks.
	gogc := debug.SetGCPercent(100)
	debug.SetGCPercent(gogc)
	limit := debug.SetMemoryLimit(-1)
	fmt.Println("ready")
	block(os.Args[1])
	runtime.ReadMemStats(&before)
	for c := 0; c < cycles; c++ {
		for i := 0; i < allocs; i++ {
			s := newSession(i)
			if i%4 == 0 {
				keep = append(keep, s)
			} else {
				sink = s
			}
		}
		big := make([]byte, 1<<20) // a large object as well
		big[0] = byte(c)
		runtime.GC()
	}
	debug.FreeOSMemory()
	syscall.Write(1, parked)
	block(endPath)
	runtime.ReadMemStats(&after)
	for _, m := range []struct {
		name string
		ms   *runtime.MemStats
	}{{"before", &before}, {"after", &after}} {
		ms := m.ms
		fmt.Printf("%s.HeapAlloc %d\n%s.HeapInuse %d\n%s.HeapIdle %d\n%s.HeapReleased %d\n",
			m.name, ms.HeapAlloc, m.name, ms.HeapInuse, m.name, ms.HeapIdle, m.name, ms.HeapReleased)
		fmt.Printf("%s.HeapObjects %d\n%s.NextGC %d\n%s.NumGC %d\n%s.PauseTotalNs %d\n",
			m.name, ms.HeapObjects, m.name, ms.NextGC, m.name, ms.NumGC, m.name, ms.PauseTotalNs)
		fmt.Printf("%s.HeapSys %d\n%s.Mallocs %d\n%s.Frees %d\n%s.TotalAlloc %d\n%s.GCCPUFraction %g\n",
			m.name, ms.HeapSys, m.name, ms.Mallocs, m.name, ms.Frees, m.name, ms.TotalAlloc, m.name, ms.GCCPUFraction)
		fmt.Printf("%s.PauseNsLast %d\n", m.name, ms.PauseNs[(ms.NumGC+255)%256])
	}
	fmt.Printf("settings.GOGC %d\nsettings.MemoryLimit %d\n", gogc, limit)
	fmt.Printf("keep %d\n", len(keep))
}
