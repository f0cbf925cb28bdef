// A Go program that allocates as fast as it can, for
// tests/e2e/t34-go-budget.sh: one goroutine calls newHot ten times for
// every newCold, forever. Standard library only. Usage: busy MARK REPORT
// EXIT (three FIFOs): prints "ready"; opening MARK (the test opens it once
// memtrace is attached) takes the runtime's Mallocs; opening REPORT takes
// it again and prints "mallocs N" (the difference: mallocgc calls in
// between, the loop's and the runtime's) and "seconds S"; the loop goes
// on until EXIT is opened.
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

type Hot struct {
	a, b int
	p    *Hot
}

type Cold struct {
	buf [56]byte
	p   *Cold
}

var sinkHot *Hot
var sinkCold *Cold

//go:noinline
func newHot(i int) *Hot { return &Hot{a: i} }

//go:noinline
func newCold(i int) *Cold { return &Cold{p: sinkCold} }

func loop() {
	for i := 0; ; i++ {
		for k := 0; k < 10; k++ {
			sinkHot = newHot(i)
		}
		sinkCold = newCold(i)
	}
}

func block(path string) {
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
	if err != nil {
		os.Exit(3)
	}
	syscall.Close(fd)
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: busy MARK REPORT EXIT")
		os.Exit(2)
	}
	var m0, m1 runtime.MemStats
	go loop()
	fmt.Println("ready")
	block(os.Args[1])
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	fmt.Println("marked")
	block(os.Args[2])
	runtime.ReadMemStats(&m1)
	fmt.Printf("mallocs %d\nseconds %.3f\n", m1.Mallocs-m0.Mallocs, time.Since(t0).Seconds())
	block(os.Args[3])
}
