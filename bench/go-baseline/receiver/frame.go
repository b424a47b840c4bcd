package main

// The frames of boundary's socket (shared/WIRE.md §1–2), read and decoded
// the way Coder's agent does it (agent/boundarylogproxy codec.ReadMessage):
// the 4-byte header with io.ReadFull, then the payload with io.ReadFull into
// a per-connection buffer that grows as needed, then proto.Unmarshal into a
// fresh message. Guarantees: a bad tag or an oversize length is fatal for the
// connection (the stream cannot be resynced); a payload that does not parse
// is only that frame's loss.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	agentv2 "boundaryrelay.local/bench/gobaseline/gen/coder/agent/v2"
	codecv1 "boundaryrelay.local/bench/gobaseline/gen/coder/boundarylogproxy/codec/v1"
)

const (
	tagV1      = 1       // payload: coder.agent.v2.ReportBoundaryLogsRequest
	tagV2      = 2       // payload: coder.boundarylogproxy.codec.v1.BoundaryMessage
	maxPayload = 1 << 15 // bytes, for both tags
	headerSize = 4
)

var (
	errUnsupportedTag = errors.New("unsupported frame tag")
	errTooLarge       = errors.New("frame payload larger than 32768 bytes")
)

// readFrame reads the next frame; buf is reused (and returned grown) so a
// connection allocates its payload buffer once. The payload aliases buf.
func readFrame(r io.Reader, header *[headerSize]byte, buf []byte) (tag byte, payload, grown []byte, err error) {
	if _, err = io.ReadFull(r, header[:]); err != nil {
		return 0, nil, buf, err
	}
	h := binary.BigEndian.Uint32(header[:])
	tag, length := byte(h>>24), int(h&0x00ffffff)
	if tag != tagV1 && tag != tagV2 {
		return tag, nil, buf, fmt.Errorf("%w: %d", errUnsupportedTag, tag)
	}
	if length > maxPayload {
		return tag, nil, buf, fmt.Errorf("%w: %d", errTooLarge, length)
	}
	if cap(buf) < length {
		buf = make([]byte, length)
	}
	payload = buf[:length]
	if _, err = io.ReadFull(r, payload); err != nil {
		return tag, nil, buf, err
	}
	return tag, payload, buf, nil
}

// decodedFrame is what one frame carried: its records, or boundary's status.
type decodedFrame struct {
	records int
	status  *codecv1.BoundaryStatus
}

// decodeFrame unmarshals a payload by its tag into a fresh message, as the
// deployed agent does before it queues the request.
func decodeFrame(tag byte, payload []byte) (decodedFrame, error) {
	if tag == tagV1 {
		req := new(agentv2.ReportBoundaryLogsRequest)
		if err := proto.Unmarshal(payload, req); err != nil {
			return decodedFrame{}, err
		}
		return decodedFrame{records: len(req.Logs)}, nil
	}
	msg := new(codecv1.BoundaryMessage)
	if err := proto.Unmarshal(payload, msg); err != nil {
		return decodedFrame{}, err
	}
	switch m := msg.Msg.(type) {
	case *codecv1.BoundaryMessage_Logs:
		return decodedFrame{records: len(m.Logs.Logs)}, nil
	case *codecv1.BoundaryMessage_Status:
		return decodedFrame{status: m.Status}, nil
	default: // an envelope variant this schema does not know yet
		return decodedFrame{}, nil
	}
}
