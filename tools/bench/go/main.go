// The Go side of `make bench` (tools/bench/go.py): N heap allocations of
// one small type from one site, timed by the program itself; prints
// "ns_per_alloc X" and "allocs N". The GC runs as usual.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

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
