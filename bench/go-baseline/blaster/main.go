// The bench's load generator for the socket-vs-go comparison: writes
// pre-encoded frames, read from files the bench made before the clock
// starts, as fast as the receiver takes them. One connection per file; each
// connection writes its file's bytes -repeat times, one write(2) per copy, so
// the generator costs a few syscalls per hundred frames and both receivers
// get byte-identical streams.
//
//	blaster -socket S -repeat R conn0.bin conn1.bin …
//
// Prints "ready" once every connection is open, starts on a line on stdin,
// and prints {"bytes":N,"elapsedMs":T} when every byte was written and the
// connections closed. Exits 1 on any write error (a receiver that closed a
// connection is a failed run, not a slow one).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"log"
	"net"
	"os"
	"sync"
	"time"
)

func main() {
	socketPath := flag.String("socket", "", "Unix socket of the receiver")
	repeat := flag.Int("repeat", 1, "copies of each file written to its connection")
	flag.Parse()
	if *socketPath == "" || flag.NArg() == 0 {
		log.Fatal("usage: blaster -socket S [-repeat R] FILE…")
	}
	streams := make([][]byte, flag.NArg())
	conns := make([]net.Conn, flag.NArg())
	for i, path := range flag.Args() {
		bytes, err := os.ReadFile(path)
		if err != nil {
			log.Fatal(err)
		}
		streams[i] = bytes
		if conns[i], err = net.Dial("unix", *socketPath); err != nil {
			log.Fatal(err)
		}
	}
	os.Stdout.WriteString("ready\n")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		log.Fatal(err)
	}

	start := time.Now()
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func(conn net.Conn, stream []byte) {
			defer wg.Done()
			for r := 0; r < *repeat; r++ {
				if _, err := conn.Write(stream); err != nil {
					log.Fatalf("write: %v", err)
				}
			}
			if err := conn.Close(); err != nil {
				log.Fatalf("close: %v", err)
			}
		}(conns[i], streams[i])
	}
	wg.Wait()
	total := 0
	for _, s := range streams {
		total += len(s) * *repeat
	}
	out, _ := json.Marshal(map[string]any{"bytes": total, "elapsedMs": float64(time.Since(start).Microseconds()) / 1000})
	os.Stdout.Write(append(out, '\n'))
}
