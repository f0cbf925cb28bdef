// The Go side of `make bench` (tools/bench/go.py): N heap allocations of
// one small type from one site, timed by the program itself; prints
// "ns_per_alloc X" and "allocs N". The GC runs as usual. With a second
// argument FILE it prints "ready" and waits until FILE exists (memtrace
// attaches meanwhile) before it starts.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func waitFor(path string) {
	fmt.Println("ready")
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type Obj struct {
	a, b int
	p    *Obj
}

var sink *Obj

//go:noinline
func alloc(i int) *Obj {
	return &Obj{a: i}
}

func main() {
	n := 2000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		waitFor(os.Args[2])
	}
	for i := 0; i < 10000; i++ { // warm up: heap grown, caches filled
		sink = alloc(i)
	}
	t := time.Now()
	for i := 0; i < n; i++ {
		sink = alloc(i)
	}
	d := time.Since(t)
	fmt.Printf("ns_per_alloc %.2f\nallocs %d\n", float64(d.Nanoseconds())/float64(n), n)
}
