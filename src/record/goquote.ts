// Go-style quoting for text log values (strconv.Quote semantics): a value
// is quoted when it could be misread — empty, or holding a space, quote,
// `=` or any control or non-printable character — so no record can forge
// or split a line.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const NEEDS_QUOTE = /[^\p{L}\p{M}\p{N}\p{P}\p{S}]|["=]/u;
// Fast path: printable ASCII other than space, quote and `=` never needs quoting.
const PLAIN_ASCII = /^[!#-<>-~]+$/;
// Printable ASCII (space included) other than `"` and `\`: quoted as is.
const QUOTABLE_ASCII = /^[ !#-[\]-~]*$/;

const SHORT_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  "\\": "\\\\",
  '"': '\\"',
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

function escapeRune(ch: string): string {
  const short = SHORT_ESCAPES[ch];
  if (short) return short;
  if (ch === " " || PRINTABLE.test(ch)) return ch;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x80) return `\\x${hex(cp, 2)}`;
  if (cp < 0x10000) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

/** Always quotes, like Go's strconv.Quote. */
export function goQuote(value: string): string {
  if (QUOTABLE_ASCII.test(value)) return `"${value}"`;
  let out = '"';
  for (const ch of value) out += escapeRune(ch);
  return `${out}"`;
}

/** Quotes only when needed (logfmt style). */
export function logfmtValue(value: string): string {
  if (PLAIN_ASCII.test(value)) return value;
  return value === "" || NEEDS_QUOTE.test(value) ? goQuote(value) : value;
}
