// CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of a byte range. Uses
// node:zlib's native crc32 where the runtime has it (Bun, Node 22+, newer
// Deno) and a table-driven fallback elsewhere; both give the same value.
import * as zlib from "node:zlib";

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Table-driven CRC-32; exported so tests can check it against the native one. */
export function crc32Table(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

export const crc32: (data: Uint8Array) => number =
  typeof native === "function" ? (data) => native(data) >>> 0 : crc32Table;
