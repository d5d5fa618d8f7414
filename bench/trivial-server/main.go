// The trivial loopback HTTP server the load tools are compared against: a fixed 3-byte answer from Go's net/http,
// so that the server costs far less per request than any of the clients. Standard library only.
//
//	trivial-server 127.0.0.1:0   prints the address it listens on, then serves until killed
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:0"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body := []byte("ok\n")
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{"3"}
		w.Write(body)
	})
	fmt.Println(listener.Addr().String())
	if err := http.Serve(listener, handler); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
