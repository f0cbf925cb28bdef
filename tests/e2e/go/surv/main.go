// GC survival with known answers, for tests/e2e/t39-go-survival.sh: two
// allocation sites, one whose objects die at once (each replaces the last
// in a global: at most one alive) and one whose objects are all kept (a
// global slice), then a GC; in rounds for SECONDS (memtrace samples in
// windows of its own), with a pause after each GC so memtrace reads the
// mark bits while the runtime is still in that cycle. Standard library
// only. Usage: surv SECONDS [auto]: with auto, no runtime.GC() and no
// pause: the cycles come from the pacer (run it with a low GOGC), and the
// spans are swept lazily, after memtrace has read most mark bits.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

type Temp struct {
	id  int
	buf [48]byte
}

type Kept struct {
	id  int
	buf [40]byte
}

var sink *Temp
var kept []*Kept

//go:noinline
func newTemp(i int) *Temp { return &Temp{id: i} }

//go:noinline
func newKept(i int) *Kept { return &Kept{id: i} }

func main() {
	secs := 1.0
	if len(os.Args) > 1 {
		secs, _ = strconv.ParseFloat(os.Args[1], 64)
	}
	auto := len(os.Args) > 2 && os.Args[2] == "auto"
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	for time.Now().Before(end) {
		for i := 0; i < 4000; i++ {
			sink = newTemp(i)
			if i%4 == 0 {
				kept = append(kept, newKept(i))
			}
		}
		if !auto {
			runtime.GC()
			time.Sleep(30 * time.Millisecond)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("kept %d numgc %d\n", len(kept), ms.NumGC)
}
