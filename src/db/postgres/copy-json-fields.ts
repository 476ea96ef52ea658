/**
 * The fast paths of copy-json.ts: one COPY text field written as its canonical JSON, for a field in the exact
 * form PostgreSQL prints for its kind (connect.ts sets the sessions to UTC, ISO dates, UTF-8):
 *
 * | kind                 | COPY text                           | JSON                                  |
 * |----------------------|-------------------------------------|---------------------------------------|
 * | int                  | `-?[1-9][0-9]*` or `0`              | the same digits                       |
 * | decimal              | `-?digits[.digits]` (no lead zero)  | `"…"`, fraction without trailing zeros |
 * | bool                 | `t` / `f`                           | `true` / `false`                      |
 * | text, date, other    | COPY escapes, valid UTF-8           | the JSON string, JSON.stringify's escapes |
 * | uuid                 | no capital letters                  | the JSON string                       |
 * | jsonb                | jsonb's output, plain ASCII keys    | spaces dropped, keys sorted, numbers  |
 * |                      |                                     | without trailing fractional zeros      |
 * | timestamp(tz)        | `YYYY-MM-DD HH:MM:SS[.f]` (`+00`)    | `"YYYY-MM-DDTHH:MM:SS[.f]"` (`Z`)       |
 *
 * Each writer returns where its output ends and sets `stop` to where its field ends (its tab, or the line's
 * end); -1 leaves the field to the slow path (copy-json.ts).
 */
import { JsonbWriter } from './jsonb-writer.js';

// Byte values (and isDigit) are local to each writer file: imported ones are not folded into the hot loops.
const TAB = 9;
const NEWLINE = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const SPACE = 32;
const PLUS = 43;
const LOWER_N = 110;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

const HEX = '0123456789abcdef';

/** Where the field a fast path just wrote ends (its tab, or the line's end). */
export let stop = 0;

/** Sets `stop` for a field a writer here did not write (a null, or the slow path); returns it. */
export function stopAt(p: number): number {
  stop = p;
  return p;
}

/** Whether the field that started at `pos` ends at `p` (a tab or the line's end). */
function endsAt(text: Buffer, p: number, end: number): boolean {
  return p === end || text[p] === TAB;
}

/** `-?(0|[1-9][0-9]*)`, not `-0`: copied as it is. */
export function writeInt(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  let p = pos;
  if (text[p] === MINUS) p++;
  const digits = p;
  while (p < end && isDigit(text[p]!)) p++;
  if (p === digits || !endsAt(text, p, end)) return -1;
  if (text[digits] === ZERO && (p - digits > 1 || digits > pos)) return -1;
  for (let q = pos; q < p; q++) out[at++] = text[q]!;
  stop = p;
  return at;
}

/** `-?(0|[1-9][0-9]*)(.[0-9]+)?`: quoted, trailing fractional zeros and a bare point dropped, `-0` → `0`. */
export function writeDecimal(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  let p = pos;
  const negative = text[p] === MINUS;
  if (negative) p++;
  const intStart = p;
  while (p < end && isDigit(text[p]!)) p++;
  const intEnd = p;
  if (intEnd === intStart || (text[intStart] === ZERO && intEnd - intStart > 1)) return -1;
  let last = intEnd;
  if (p < end && text[p] === DOT) {
    const fracStart = ++p;
    while (p < end && isDigit(text[p]!)) p++;
    if (p === fracStart) return -1;
    last = p;
    while (text[last - 1] === ZERO) last--;
    if (last === fracStart) last = intEnd; // only zeros after the point
  }
  if (!endsAt(text, p, end)) return -1;
  const zero = intEnd - intStart === 1 && text[intStart] === ZERO && last === intEnd;
  out[at++] = QUOTE;
  for (let q = negative && zero ? intStart : pos; q < last; q++) out[at++] = text[q]!;
  out[at++] = QUOTE;
  stop = p;
  return at;
}

export function writeBool(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  if (pos >= end || !endsAt(text, pos + 1, end)) return -1;
  const word = text[pos] === 116 ? 'true' : text[pos] === 102 ? 'false' : null;
  if (word === null) return -1;
  for (let j = 0; j < word.length; j++) out[at++] = word.charCodeAt(j);
  stop = pos + 1;
  return at;
}

/**
 * A JSON string from COPY-escaped UTF-8: `\b \f \n \r \t \v \\` undone and JSON-escaped as JSON.stringify
 * would (`\v` and other controls as `\u00xx`), `"` escaped, valid UTF-8 copied. `noUpper`: a capital
 * letter takes the slow path (uuid: canonical is lowercase).
 */
export function writeText(
  text: Buffer,
  pos: number,
  end: number,
  out: Buffer,
  at: number,
  noUpper: boolean,
): number {
  out[at++] = QUOTE;
  let p = pos;
  while (p < end) {
    const c = text[p]!;
    if (c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH) {
      if (noUpper && c >= 65 && c <= 90) return -1;
      out[at++] = c;
      p++;
    } else if (c === TAB) break;
    else if (c === BACKSLASH) {
      if (p + 1 >= end) return -1;
      const e = text[p + 1]!;
      let code: number;
      switch (e) {
        case BACKSLASH:
          code = BACKSLASH;
          break;
        case 98: // b
          code = 8;
          break;
        case 102: // f
          code = 12;
          break;
        case LOWER_N:
          code = NEWLINE;
          break;
        case 114: // r
          code = 13;
          break;
        case 116: // t
          code = TAB;
          break;
        case 118: // v
          code = 11;
          break;
        default:
          return -1; // octal, hex or other escapes: the slow path
      }
      at = writeEscaped(code, out, at);
      p += 2;
    } else if (c < 0x80) {
      at = writeEscaped(c, out, at);
      p++;
    } else {
      const n = utf8Length(text, p, end);
      if (n === 0) return -1;
      for (let q = 0; q < n; q++) out[at++] = text[p + q]!;
      p += n;
    }
  }
  out[at++] = QUOTE;
  stop = p;
  return at;
}

/** A character that JSON escapes: `"`, `\`, or a control character. */
function writeEscaped(c: number, out: Buffer, at: number): number {
  out[at++] = BACKSLASH;
  switch (c) {
    case QUOTE:
    case BACKSLASH:
      out[at++] = c;
      return at;
    case 8:
      out[at++] = 98;
      return at;
    case 12:
      out[at++] = 102;
      return at;
    case NEWLINE:
      out[at++] = LOWER_N;
      return at;
    case 13:
      out[at++] = 114;
      return at;
    case TAB:
      out[at++] = 116;
      return at;
    default:
      out[at++] = 117; // u
      out[at++] = ZERO;
      out[at++] = ZERO;
      out[at++] = HEX.charCodeAt(c >> 4);
      out[at++] = HEX.charCodeAt(c & 15);
      return at;
  }
}

/** Bytes of the well-formed UTF-8 sequence at `p` (2–4; no overlongs, surrogates or > U+10FFFF), else 0. */
function utf8Length(text: Buffer, p: number, fe: number): number {
  const c = text[p]!;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (p + n > fe) return 0;
  const c1 = text[p + 1]!;
  if (c1 < lo || c1 > hi) return 0;
  for (let q = 2; q < n; q++) {
    const cq = text[p + q]!;
    if (cq < 0x80 || cq > 0xbf) return 0;
  }
  return n;
}

/**
 * `YYYY-MM-DD HH:MM:SS[.f]` (then `+00` with `tz`): quoted, `T` for the space, the fraction without trailing
 * zeros (none if zero), `Z` with `tz`. Other forms (BC, infinity, years past 9999) take the slow path.
 */
export function writeTimestamp(
  text: Buffer,
  pos: number,
  end: number,
  out: Buffer,
  at: number,
  tz: boolean,
): number {
  if (end - pos < (tz ? 22 : 19)) return -1;
  for (let q = 0; q < 19; q++) {
    const c = text[pos + q]!;
    const want = q === 4 || q === 7 ? MINUS : q === 10 ? SPACE : q === 13 || q === 16 ? COLON : -1;
    if (want < 0 ? !isDigit(c) : c !== want) return -1;
  }
  let p = pos + 19;
  let last = p;
  if (p < end && text[p] === DOT) {
    p++;
    while (p < end && isDigit(text[p]!)) p++;
    if (p === pos + 20) return -1;
    last = p;
    while (text[last - 1] === ZERO) last--;
    if (last === pos + 20) last = pos + 19;
  }
  if (tz) {
    if (p + 3 > end || text[p] !== PLUS || text[p + 1] !== ZERO || text[p + 2] !== ZERO) return -1;
    p += 3;
  }
  if (!endsAt(text, p, end)) return -1;
  out[at++] = QUOTE;
  for (let q = pos; q < last; q++) out[at++] = q === pos + 10 ? 84 /* T */ : text[q]!;
  if (tz) out[at++] = 90; // Z
  out[at++] = QUOTE;
  stop = p;
  return at;
}

/**
 * jsonb as PostgreSQL prints it: `, ` and `: ` between items, each object's keys unique, strings escaped
 * exactly as JSON.stringify escapes them, numbers as numeric prints them (never an exponent). The
 * canonical form (json-canonical.ts) needs the spaces dropped, object keys in code unit order (sorted here
 * when every key is plain ASCII without escapes, where byte order is that order) and numbers without
 * trailing fractional zeros. Anything else: -1, the slow path. The field's COPY escapes (only `\\` in
 * jsonb's output) are undone into a scratch buffer first.
 */
export function writeJsonb(text: Buffer, pos: number, end: number, out: Buffer, at: number): number {
  let p = pos;
  let escaped = false;
  for (; p < end; p++) {
    const c = text[p]!;
    if (c === TAB) break;
    if (c === BACKSLASH) escaped = true;
  }
  // Read in place, unless a backslash has to be undone first.
  let json: JsonbWriter;
  if (!escaped) json = jsonb.reset(text, pos, p, out);
  else {
    if (scratch.length < p - pos) scratch = Buffer.alloc(Math.max(2 * (p - pos), 4096));
    const s = scratch;
    let n = 0;
    for (let q = pos; q < p; q++) {
      const c = text[q]!;
      if (c === BACKSLASH && text[++q] !== BACKSLASH) return -1;
      s[n++] = c;
    }
    json = jsonb.reset(s, 0, n, out);
  }
  const written = json.value(at, 0);
  if (written < 0 || json.skipSpaces() !== json.end) return -1;
  stop = p;
  return written;
}

let scratch = Buffer.alloc(4096);

const jsonb = new JsonbWriter();
