// A strict check of protobuf bytes against a message's schema, before any
// decoder sees them, so a malformed body is refused as invalid_argument
// naming the field ("execs[3].argv[1]: is not valid UTF-8") instead of
// failing inside the decoder (which Connect answers as `internal`).
// Driven by protobuf-es descriptors, for any message; boundary records keep
// their own allocation-free scan (src/record/validity.ts), whose rules these
// are: every length inside its parent, varints of at most 10 bytes, no
// groups, field number 0 refused, known fields only with their declared wire
// type (packed repeated scalars allowed), strings UTF-8; unknown fields are
// skipped when well-formed. Value rules (ranges, caps) are the caller's, on
// the decoded message.
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { type InvalidField, isUtf8 } from "../record/validity.ts";

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;
const WIRE_NAMES = ["varint", "fixed64", "length-delimited", "group start", "group end", "fixed32", "6", "7"];

class Fault extends Error {
  constructor(readonly invalid: InvalidField) {
    super(invalid.problem);
  }
}

const malformed = (field: string, problem: string) => new Fault({ kind: "malformed_protobuf", field, problem });

/** A cursor over the bytes; every read checks it stays before `end`. */
class Cursor {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  /** A varint of at most 10 bytes, as a number (exact below 2^53; lengths and tags need no more). */
  varint(end: number, field: string): number {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw malformed(field, "varint runs past its message");
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return value;
    }
    throw malformed(field, "varint is longer than 10 bytes");
  }

  advance(end: number, n: number, field: string): void {
    if (end - this.pos < n) throw malformed(field, `claims ${n} bytes while ${end - this.pos} remain in its message`);
    this.pos += n;
  }

  /** A length prefix that fits before `end`; returns where the value ends. */
  lengthDelimited(end: number, field: string): number {
    const length = this.varint(end, field);
    if (length > end - this.pos) throw malformed(field, `claims ${length} bytes while ${end - this.pos} remain in its message`);
    return this.pos + length;
  }
}

/** The wire type a scalar is written with (unpacked). */
function scalarWireType(t: ScalarType): number {
  switch (t) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return LEN;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return FIXED64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return FIXED32;
    default:
      return VARINT;
  }
}

function skipValue(c: Cursor, end: number, wireType: number, field: string): void {
  switch (wireType) {
    case VARINT:
      c.varint(end, field);
      return;
    case FIXED64:
      return c.advance(end, 8, field);
    case FIXED32:
      return c.advance(end, 4, field);
    case LEN:
      c.pos = c.lengthDelimited(end, field);
      return;
    default:
      throw malformed(field, `wire type ${WIRE_NAMES[wireType]} is not allowed`);
  }
}

/** One scalar value of wire type `wireType` (already checked); strings must be UTF-8. */
function scalarValue(c: Cursor, end: number, t: ScalarType, wireType: number, path: string): void {
  if (t !== ScalarType.STRING) return skipValue(c, end, wireType, path);
  const stop = c.lengthDelimited(end, path);
  if (!isUtf8(c.buf, c.pos, stop)) throw new Fault({ kind: "invalid_value", field: path, problem: "is not valid UTF-8" });
  c.pos = stop;
}

function fieldValue(c: Cursor, end: number, f: DescField, wireType: number, path: string): void {
  const wrongType = (declared: number) => malformed(path, `has wire type ${WIRE_NAMES[wireType]}, declared ${WIRE_NAMES[declared]}`);
  const scalar = f.fieldKind === "scalar" ? f.scalar : f.fieldKind === "list" && f.listKind === "scalar" ? f.scalar : null;
  const isMessage = f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message") || f.fieldKind === "map";
  if (isMessage) {
    if (wireType !== LEN) throw wrongType(LEN);
    const stop = c.lengthDelimited(end, path);
    if (f.fieldKind !== "map") scanMessage(c, stop, f.message!, path);
    else c.pos = stop; // map entries: well-formed length is all a map needs here
    return;
  }
  const declared = scalar === null ? VARINT : scalarWireType(scalar); // enums are varints
  if (wireType === declared) return scalar === null ? void c.varint(end, path) : scalarValue(c, end, scalar, wireType, path);
  // A packed repeated number: one length-delimited run of values.
  if (f.fieldKind === "list" && wireType === LEN && declared !== LEN) {
    const stop = c.lengthDelimited(end, path);
    while (c.pos < stop) skipValue(c, stop, declared, path);
    return;
  }
  throw wrongType(declared);
}

function scanMessage(c: Cursor, end: number, desc: DescMessage, path: string): void {
  const counts = new Map<number, number>();
  const at = (name: string) => (path === "" ? name : `${path}.${name}`);
  while (c.pos < end) {
    const key = c.varint(end, at("(tag)"));
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0) throw malformed(path, "field number 0 is not allowed");
    const f = desc.fields.find((x) => x.number === number);
    if (!f) {
      skipValue(c, end, wireType, at(`field ${number}`));
      continue;
    }
    let name = at(f.name);
    if (f.fieldKind === "list") {
      const index = counts.get(number) ?? 0;
      counts.set(number, index + 1);
      name = `${name}[${index}]`;
    }
    fieldValue(c, end, f, wireType, name);
  }
}

/** null when `bytes` are a well-formed encoding of `desc`, else the first fault, naming its field. */
export function checkEncodedMessage(desc: DescMessage, bytes: Uint8Array): InvalidField | null {
  try {
    scanMessage(new Cursor(bytes), bytes.length, desc, "");
    return null;
  } catch (err) {
    if (err instanceof Fault) return err.invalid;
    throw err;
  }
}
