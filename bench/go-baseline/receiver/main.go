// The bench's Go baseline: a minimal receiver for boundary's socket built
// like Coder's agent proxy (agent/boundarylogproxy): a Unix listener, one
// goroutine per connection running the receive loop of frame.go, messages
// decoded with google.golang.org/protobuf from code generated out of our
// proto/ (gen/, by generate.sh). Instead of queueing requests for coderd it
// counts them, which is what `boundary-relay agent --output discard` does.
//
//	go build -o /tmp/receiver ./receiver && /tmp/receiver -socket /tmp/x.sock
//
// Prints "ready http=127.0.0.1:PORT" once the socket and the HTTP listener
// are up; GET /metrics gives the counters in Prometheus text form, GET
// /healthz says ok. On SIGTERM/SIGINT it removes the socket, prints the
// counters as one JSON line and exits 0.
package main

//go:generate ../generate.sh

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// counters are the receiver's only state; every field only grows.
type counters struct {
	Records           atomic.Int64
	Frames            atomic.Int64
	FramesSkipped     atomic.Int64 // payload did not parse: frame lost, connection kept
	ConnectionsClosed atomic.Int64 // bad tag or oversize: connection closed by us
	Connections       atomic.Int64
	BoundaryDropped   atomic.Int64 // reported by boundary's status messages
	Bytes             atomic.Int64 // read in -sink mode only
}

func (c *counters) snapshot() map[string]int64 {
	return map[string]int64{
		"go_baseline_records_received_total":             c.Records.Load(),
		"go_baseline_frames_received_total":              c.Frames.Load(),
		"go_baseline_frames_skipped_total":               c.FramesSkipped.Load(),
		"go_baseline_connections_closed_bad_frame_total": c.ConnectionsClosed.Load(),
		"go_baseline_connections_total":                  c.Connections.Load(),
		"go_baseline_bytes_received_total":               c.Bytes.Load(),
		"go_baseline_boundary_dropped_total":             c.BoundaryDropped.Load(),
	}
}

// receive is one connection's loop: read, decode, count, until EOF or a
// fatal frame.
func receive(conn net.Conn, c *counters) {
	defer conn.Close()
	var header [headerSize]byte
	buf := make([]byte, 1<<10) // the deployed agent's starting size; grows to the largest frame
	for {
		tag, payload, grown, err := readFrame(conn, &header, buf)
		buf = grown
		switch {
		case errors.Is(err, errUnsupportedTag) || errors.Is(err, errTooLarge):
			c.ConnectionsClosed.Add(1)
			return
		case err != nil: // EOF, a truncated frame, or the connection closed
			return
		}
		frame, err := decodeFrame(tag, payload)
		if err != nil {
			c.FramesSkipped.Add(1)
			continue
		}
		c.Frames.Add(1)
		c.Records.Add(int64(frame.records))
		if frame.status != nil {
			c.BoundaryDropped.Add(frame.status.DroppedChannelFull + frame.status.DroppedBatchFull)
		}
	}
}

// sink is the -sink loop: read and discard, counting bytes.
func sink(conn net.Conn, c *counters) {
	defer conn.Close()
	buf := make([]byte, 1<<16)
	for {
		n, err := conn.Read(buf)
		c.Bytes.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// serve accepts connections until the listener is closed, handing each to
// its own goroutine running handle.
func serve(listener net.Listener, c *counters, handle func(net.Conn, *counters)) {
	for {
		conn, err := listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		c.Connections.Add(1)
		go handle(conn, c)
	}
}

func metricsHandler(c *counters) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		for name, value := range c.snapshot() {
			fmt.Fprintf(w, "%s %d\n", name, value)
		}
	})
	return mux
}

func main() {
	socketPath := flag.String("socket", "", "Unix socket to listen on (a stale file is removed)")
	httpListen := flag.String("http", "127.0.0.1:0", "address of the /metrics and /healthz listener")
	sinkOnly := flag.Bool("sink", false, "read and count bytes without decoding (the writer's ceiling)")
	flag.Parse()
	if *socketPath == "" {
		log.Fatal("-socket is required")
	}
	if err := os.Remove(*socketPath); err != nil && !os.IsNotExist(err) {
		log.Fatalf("remove stale socket: %v", err)
	}
	socket, err := net.Listen("unix", *socketPath)
	if err != nil {
		log.Fatalf("listen on %s: %v", *socketPath, err)
	}
	web, err := net.Listen("tcp", *httpListen)
	if err != nil {
		log.Fatalf("listen on %s: %v", *httpListen, err)
	}
	c := new(counters)
	handle := receive
	if *sinkOnly {
		handle = sink
	}
	go serve(socket, c, handle)
	go http.Serve(web, metricsHandler(c))
	fmt.Printf("ready http=%s\n", web.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	socket.Close() // also removes the socket file
	final, _ := json.Marshal(c.snapshot())
	fmt.Println(string(final))
}
