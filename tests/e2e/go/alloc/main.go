// Allocations with known numbers, for tests/e2e/t31-go-alloc.sh: each
// site's mallocgc calls are counted by the program itself and printed as
// "count FUNCTION N" lines at the end; memtrace must count the same.
// Standard library only; the GC is off so sync.Pool keeps what is Put.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
)

type Session struct {
	id   int
	name string
	next *Session
	buf  [40]byte
}

type Buf struct {
	data [256]byte
	n    int
}

var keep []*Session
var sinkInts []int
var sinkMap map[int]int

//go:noinline
func newSession(i int) *Session {
	return &Session{id: i}
}

//go:noinline
func allocSessions(n int) {
	for i := 0; i < n; i++ {
		keep[i] = newSession(i)
	}
}

// growSlice appends n ints; every capacity change is one growslice call,
// which is one mallocgc call.
//
//go:noinline
func growSlice(n int) int {
	var s []int
	grows := 0
	for i := 0; i < n; i++ {
		c := cap(s)
		s = append(s, i)
		if cap(s) != c {
			grows++
		}
	}
	sinkInts = s
	return grows
}

// growMap fills a map without a size hint; its mallocgc calls are counted
// by the runtime's own statistics (Mallocs) around it.
//
//go:noinline
func growMap(n int) map[int]int {
	m := make(map[int]int)
	for i := 0; i < n; i++ {
		m[i] = i
	}
	return m
}

var poolNews int

//go:noinline
func newBuf() any {
	poolNews++
	return new(Buf)
}

//go:noinline
func usePool(n int) {
	p := sync.Pool{New: newBuf}
	held := make([]*Buf, 0, 8)
	for i := 0; i < n; i++ {
		b := p.Get().(*Buf)
		b.n = i
		held = append(held, b)
		if len(held) == cap(held) {   // 8 live at a time: New runs 8 times
			for _, h := range held {
				p.Put(h)
			}
			held = held[:0]
		}
	}
}

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	debug.SetGCPercent(-1)
	runtime.GOMAXPROCS(1)
	keep = make([]*Session, n)
	allocSessions(n)
	grows := growSlice(n * 10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sinkMap = growMap(n)
	runtime.ReadMemStats(&after)
	usePool(n)
	fmt.Printf("count main.newSession %d\n", n)
	fmt.Printf("count main.growSlice %d\n", grows)
	fmt.Printf("count main.growMap %d\n", after.Mallocs-before.Mallocs)
	fmt.Printf("count main.newBuf %d\n", poolNews)
	fmt.Printf("size main.Session %d\n", 8+16+8+40)
}
