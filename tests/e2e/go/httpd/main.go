// An HTTP server on 127.0.0.1 for tests/e2e/t37-go-attach.sh: each request
// to /session allocates one *main.Session in main.newSession (and its user
// string), each request to /counted one *main.Counted in main.newCounted
// (and nothing else there). It prints
// "listening PORT" once serving. "httpd get URL N" is its client: N
// requests in sequence, each checked, then "ok N".
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
)

type Session struct {
	id   int
	user string
	data [64]byte
}

type Counted struct {
	n    int
	tags [4]string
}

var served int

//go:noinline
func newSession(i int) *Session {
	return &Session{id: i, user: "u" + strconv.Itoa(i)}
}

func handle(w http.ResponseWriter, r *http.Request) {
	served++
	s := newSession(served)
	fmt.Fprintf(w, "session %d %s\n", s.id, s.user)
}

//go:noinline
func newCounted(i int) *Counted {
	return &Counted{n: i}
}

func counted(w http.ResponseWriter, r *http.Request) {
	c := newCounted(served)
	fmt.Fprintf(w, "counted %d\n", c.n)
}

func get(url string, n int) error {
	c := &http.Client{}
	for i := 0; i < n; i++ {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(body) == 0 {
			return fmt.Errorf("request %d: status %d, %d bytes, %v", i, resp.StatusCode, len(body), err)
		}
	}
	return nil
}

func main() {
	if len(os.Args) > 3 && os.Args[1] == "get" {
		n, _ := strconv.Atoi(os.Args[3])
		if err := get(os.Args[2], n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("ok %d\n", n)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	http.HandleFunc("/session", handle)
	http.HandleFunc("/counted", counted)
	http.Serve(ln, nil)
}
