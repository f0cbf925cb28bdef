// GC survival with known answers, for tests/e2e/t39-go-survival.sh: two
// allocation sites, one whose objects die at once (each replaces the last
// in a global: at most one alive) and one whose objects are all kept (a
// global slice), then a GC; ROUNDS times, with a pause after each GC so
// memtrace reads the mark bits while the runtime is still in that cycle.
// Standard library only. Usage: surv ROUNDS
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
	rounds := 10
	if len(os.Args) > 1 {
		rounds, _ = strconv.Atoi(os.Args[1])
	}
	for r := 0; r < rounds; r++ {
		for i := 0; i < 4000; i++ {
			sink = newTemp(i)
			if i%4 == 0 {
				kept = append(kept, newKept(i))
			}
		}
		runtime.GC()
		time.Sleep(60 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("kept %d numgc %d\n", len(kept), ms.NumGC)
}
