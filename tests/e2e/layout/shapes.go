// SPDX-License-Identifier: BSD-2-Clause
// A Go struct with known layout for tests/e2e/t71-layout-known.sh: Go lays
// fields out in declaration order with C-like alignment.
package main

import "fmt"

// 1 (hole 7) + 8 + 1 (hole 3) + 4 + 2 (padding 6) = 32 bytes; best 16.
type Padded struct {
	Tag    bool
	Weight float64
	Flag   uint8
	ID     int32
	Kind   int16
}

var sink []*Padded

func main() {
	for i := 0; i < 3; i++ {
		sink = append(sink, &Padded{ID: int32(i)})
	}
	fmt.Println(len(sink))
}
