package main

// The receiver's guarantees, over a real Unix socket: records of tag 1 and
// tag 2 frames are counted, a frame that does not parse is skipped and the
// connection kept, a bad tag or an oversize length closes the connection.

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	agentv2 "boundaryrelay.local/bench/gobaseline/gen/coder/agent/v2"
	codecv1 "boundaryrelay.local/bench/gobaseline/gen/coder/boundarylogproxy/codec/v1"
)

func frame(tag byte, payload []byte) []byte {
	out := make([]byte, headerSize+len(payload))
	binary.BigEndian.PutUint32(out, uint32(tag)<<24|uint32(len(payload)))
	copy(out[headerSize:], payload)
	return out
}

func request(t *testing.T, records int) *agentv2.ReportBoundaryLogsRequest {
	req := &agentv2.ReportBoundaryLogsRequest{SessionId: "0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f", ConfinedProcessName: "claude"}
	for i := 0; i < records; i++ {
		req.Logs = append(req.Logs, &agentv2.BoundaryLog{Allowed: true, SequenceNumber: int32(i), Resource: &agentv2.BoundaryLog_HttpRequest_{
			HttpRequest: &agentv2.BoundaryLog_HttpRequest{Method: "GET", Url: "https://registry.npmjs.org/x"}}})
	}
	return req
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startReceiver(t *testing.T) (string, *counters) {
	path := filepath.Join(t.TempDir(), "audit.sock")
	listener, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	c := new(counters)
	go serve(listener, c, receive)
	return path, c
}

func dial(t *testing.T, path string) net.Conn {
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func waitFor(t *testing.T, what string, done func() bool) {
	deadline := time.Now().Add(10 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closedByPeer reports whether the receiver closed conn: a read sees EOF,
// or a reset when the receiver closed with bytes of ours still unread.
func closedByPeer(conn net.Conn) bool {
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Read(make([]byte, 1))
	return err == io.EOF || errors.Is(err, syscall.ECONNRESET)
}

func TestCountsRecordsOfBothTagsAndSkipsUnparsableFrame(t *testing.T) {
	path, c := startReceiver(t)
	conn := dial(t, path)
	v2 := &codecv1.BoundaryMessage{Msg: &codecv1.BoundaryMessage_Logs{Logs: request(t, 2)}}
	status := &codecv1.BoundaryMessage{Msg: &codecv1.BoundaryMessage_Status{Status: &codecv1.BoundaryStatus{DroppedChannelFull: 5}}}
	var stream []byte
	stream = append(stream, frame(tagV1, mustMarshal(t, request(t, 3)))...)
	stream = append(stream, frame(tagV1, []byte{0x0a, 0xff})...) // field 1, length 255 past the end
	stream = append(stream, frame(tagV2, mustMarshal(t, v2))...)
	stream = append(stream, frame(tagV2, mustMarshal(t, status))...)
	if _, err := conn.Write(stream); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "4 frames", func() bool { return c.Frames.Load()+c.FramesSkipped.Load() == 4 })
	if got := c.Records.Load(); got != 5 {
		t.Errorf("records = %d, want 5", got)
	}
	if got := c.FramesSkipped.Load(); got != 1 {
		t.Errorf("skipped = %d, want 1", got)
	}
	if got := c.BoundaryDropped.Load(); got != 5 {
		t.Errorf("boundary dropped = %d, want 5", got)
	}
	if got := c.ConnectionsClosed.Load(); got != 0 {
		t.Errorf("connections closed = %d, want 0", got)
	}
}

func TestClosesConnectionOnUnsupportedTag(t *testing.T) {
	path, c := startReceiver(t)
	conn := dial(t, path)
	conn.Write(append(frame(3, []byte{0x08, 0x01}), frame(tagV1, mustMarshal(t, request(t, 1)))...))
	if !closedByPeer(conn) {
		t.Fatal("connection still open after tag 3")
	}
	if c.ConnectionsClosed.Load() != 1 || c.Records.Load() != 0 {
		t.Errorf("closed = %d, records = %d; want 1, 0", c.ConnectionsClosed.Load(), c.Records.Load())
	}
}

func TestClosesConnectionOnOversizeLength(t *testing.T) {
	path, c := startReceiver(t)
	conn := dial(t, path)
	var header [headerSize]byte
	binary.BigEndian.PutUint32(header[:], uint32(tagV1)<<24|(maxPayload+1))
	conn.Write(header[:])
	if !closedByPeer(conn) {
		t.Fatal("connection still open after a 32769-byte length")
	}
	if c.ConnectionsClosed.Load() != 1 {
		t.Errorf("closed = %d, want 1", c.ConnectionsClosed.Load())
	}
}

func TestAcceptsPayloadOfExactlyMaxSize(t *testing.T) {
	path, c := startReceiver(t)
	conn := dial(t, path)
	req := request(t, 1)
	req.ConfinedProcessName = ""
	base := len(mustMarshal(t, req))
	req.ConfinedProcessName = string(make([]byte, maxPayload-base-4)) // tag + 3-byte length
	payload := mustMarshal(t, req)
	if len(payload) != maxPayload {
		t.Fatalf("test payload is %d bytes, want %d", len(payload), maxPayload)
	}
	conn.Write(frame(tagV1, payload))
	waitFor(t, "the 32768-byte frame", func() bool { return c.Records.Load() == 1 })
}
