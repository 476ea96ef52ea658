/**
 * jsonb-form.ts's jsonbText for bytes: UTF-8 JSON written into a COPY text field in PostgreSQL's jsonb output
 * form, without a JS string (the MySQL → PostgreSQL bridge's jsonb columns).
 */

/** Where jsonbCopy writes: a buffer with room made on demand (`ensure`) and a write position. */
export interface ByteOut {
  buf: Buffer;
  at: number;
  ensure(n: number): void;
}

/** How deep jsonbCopy follows nesting before it leaves a text to jsonbText. */
const MAX_BYTE_DEPTH = 64;

/**
 * jsonbText of UTF-8 JSON bytes, written straight into `out` escaped as a COPY text field, without a JS
 * string: the same bytes as `copyEncoder(jsonbText(data.toString('utf8', start, end)))` whenever it returns
 * true. Returns false, with `out.at` where it was, for what it leaves to that string path: a key with an
 * escape, a duplicate key, a number with an exponent, `\u0000`, a lone surrogate, bytes that are not UTF-8,
 * invalid JSON, nesting deeper than MAX_BYTE_DEPTH.
 */
export class JsonbCopyWriter {
  private data: Buffer = Buffer.alloc(0);
  private i = 0;
  private end = 0;
  private out: ByteOut = { buf: Buffer.alloc(0), at: 0, ensure: () => undefined };
  // Reads may look one byte past `end` (the next field's); `i` then ends past `end` and `write` fails on it.
  /** Per object member, 4 slots: key start, key end (in data), value start, value end (in out). */
  private members = new Int32Array(256);
  private top = 0;
  /** An object's members in key order (slot indexes into `members`). */
  private order = new Int32Array(64);
  private scratch: Buffer = Buffer.allocUnsafe(4096);

  write(data: Buffer, start: number, end: number, out: ByteOut): boolean {
    this.data = data;
    this.i = start;
    this.end = end;
    // Room for the worst case at once (each byte written at most twice over, a `,` or `:` with its space, an
    // escape's backslash doubled for COPY), so no write below checks for room.
    out.ensure(2 * (end - start) + 16);
    this.out = out;
    const at = out.at;
    this.top = 0;
    let ok = this.value(0);
    if (ok) {
      this.space();
      ok = this.i === end;
    }
    if (!ok) out.at = at;
    return ok;
  }

  private space(): void {
    const d = this.data;
    while (this.i < this.end) {
      const c = d[this.i]!;
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return;
      this.i++;
    }
  }

  private put(b: number): void {
    const o = this.out;
    o.buf[o.at++] = b;
  }

  private putBytes(from: Buffer, start: number, end: number): void {
    const o = this.out;
    if (end - start > 32) o.at += from.copy(o.buf, o.at, start, end);
    else for (let k = start; k < end; k++) o.buf[o.at++] = from[k]!;
  }

  private value(depth: number): boolean {
    if (depth > MAX_BYTE_DEPTH) return false;
    this.space();
    if (this.i >= this.end) return false;
    const c = this.data[this.i]!;
    if (c === 123) return this.object(depth);
    if (c === 91) return this.array(depth);
    if (c === 34) return this.string();
    if (c === 116) return this.literal(TRUE);
    if (c === 102) return this.literal(FALSE);
    if (c === 110) return this.literal(NULL);
    return this.number();
  }

  private literal(word: Buffer): boolean {
    if (this.i + word.length > this.end) return false;
    for (let k = 0; k < word.length; k++) if (this.data[this.i + k] !== word[k]) return false;
    this.putBytes(word, 0, word.length);
    this.i += word.length;
    return true;
  }

  /** JSON's number grammar; written as it is, except a negative zero without its sign and exponents. */
  private number(): boolean {
    const d = this.data;
    const start = this.i;
    let i = start;
    if (d[i] === 45) i++;
    const intStart = i;
    if (d[i] === 48) i++;
    else {
      if (!(d[i]! >= 49 && d[i]! <= 57)) return false;
      while (i < this.end && d[i]! >= 48 && d[i]! <= 57) i++;
    }
    if (i < this.end && d[i] === 46) {
      i++;
      const fraction = i;
      while (i < this.end && d[i]! >= 48 && d[i]! <= 57) i++;
      if (i === fraction) return false;
    }
    if (i < this.end && (d[i] === 101 || d[i] === 69)) return false;
    if (i > this.end) return false;
    // numeric has no negative zero.
    let zero = true;
    for (let k = intStart; k < i && zero; k++) if (d[k] !== 48 && d[k] !== 46) zero = false;
    this.putBytes(d, zero && d[start] === 45 ? start + 1 : start, i);
    this.i = i;
    return true;
  }

  /** A string value: decoded escapes written back the way jsonb_out escapes, each backslash doubled for COPY. */
  private string(): boolean {
    const d = this.data;
    let i = this.i + 1;
    this.put(34);
    for (;;) {
      if (i >= this.end) return false;
      const c = d[i]!;
      if (c === 34) break;
      if (c < 0x20) return false;
      if (c === 92) {
        const e = d[i + 1];
        i += 2;
        if (e === 34) this.escape(34);
        else if (e === 92) this.escape(92);
        else if (e === 47) this.put(47);
        else if (e === 98 || e === 102 || e === 110 || e === 114 || e === 116) this.escape(e);
        else if (e === 117) {
          let unit = hexAt(d, i, this.end);
          i += 4;
          if (unit <= 0) return false;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const low = d[i] === 92 && d[i + 1] === 117 ? hexAt(d, i + 2, this.end) : -1;
            if (!(low >= 0xdc00 && low <= 0xdfff)) return false;
            unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            i += 6;
          } else if (unit >= 0xdc00 && unit <= 0xdfff) return false;
          this.codePoint(unit);
        } else return false;
        continue;
      }
      if (c < 0x80) {
        this.put(c);
        i++;
        continue;
      }
      const n = utf8SequenceLength(d, i, this.end);
      if (n === 0) return false;
      this.putBytes(d, i, i + n);
      i += n;
    }
    this.put(34);
    this.i = i + 1;
    return true;
  }

  /** `\` + `letter` in the JSON text: a COPY field writes each backslash twice. */
  private escape(letter: number): void {
    const o = this.out;
    o.buf[o.at++] = 92;
    o.buf[o.at++] = 92;
    if (letter === 92) o.buf[o.at++] = 92;
    o.buf[o.at++] = letter;
  }

  private codePoint(cp: number): void {
    if (cp === 34 || cp === 92) {
      this.escape(cp);
      return;
    }
    if (cp < 0x20) {
      const short = SHORT_LETTER[cp];
      if (short) {
        this.escape(short);
        return;
      }
      this.escape(117);
      const hex = cp.toString(16).padStart(4, '0');
      for (let k = 0; k < 4; k++) this.put(hex.charCodeAt(k));
      return;
    }
    const o = this.out;
    if (cp < 0x80) o.buf[o.at++] = cp;
    else if (cp < 0x800) {
      o.buf[o.at++] = 0xc0 | (cp >> 6);
      o.buf[o.at++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      o.buf[o.at++] = 0xe0 | (cp >> 12);
      o.buf[o.at++] = 0x80 | ((cp >> 6) & 0x3f);
      o.buf[o.at++] = 0x80 | (cp & 0x3f);
    } else {
      o.buf[o.at++] = 0xf0 | (cp >> 18);
      o.buf[o.at++] = 0x80 | ((cp >> 12) & 0x3f);
      o.buf[o.at++] = 0x80 | ((cp >> 6) & 0x3f);
      o.buf[o.at++] = 0x80 | (cp & 0x3f);
    }
  }

  private array(depth: number): boolean {
    this.i++;
    this.put(91);
    this.space();
    if (this.data[this.i] === 93) {
      this.i++;
      this.put(93);
      return true;
    }
    for (;;) {
      if (!this.value(depth + 1)) return false;
      this.space();
      const c = this.data[this.i++];
      if (c === 93) break;
      if (c !== 44) return false;
      this.put(44);
      this.put(32);
    }
    this.put(93);
    return true;
  }

  /**
   * Members are written in the order read (values only), then rewritten in jsonb's key order from a copy.
   * Nested objects are finished before their parent is rewritten, so one scratch buffer serves all.
   */
  private object(depth: number): boolean {
    const d = this.data;
    const o = this.out;
    const objectStart = o.at;
    const base = this.top;
    this.i++;
    this.space();
    if (d[this.i] === 125) {
      this.i++;
      this.put(123);
      this.put(125);
      return true;
    }
    for (;;) {
      this.space();
      if (d[this.i] !== 34) return false;
      const keyStart = this.i + 1;
      const keyEnd = this.keyEnd(keyStart);
      if (keyEnd < 0) return false;
      this.i = keyEnd + 1;
      this.space();
      if (d[this.i++] !== 58) return false;
      const valueStart = o.at;
      if (!this.value(depth + 1)) return false;
      if (this.top + 4 > this.members.length) {
        const grown = new Int32Array(this.members.length * 2);
        grown.set(this.members);
        this.members = grown;
      }
      const t = this.top;
      this.members[t] = keyStart;
      this.members[t + 1] = keyEnd;
      this.members[t + 2] = valueStart;
      this.members[t + 3] = o.at;
      this.top = t + 4;
      this.space();
      const c = d[this.i++];
      if (c === 125) break;
      if (c !== 44) return false;
    }
    const count = (this.top - base) >> 2;
    if (!this.sortMembers(base, count)) return false;
    this.rewriteMembers(objectStart, count);
    this.top = base;
    return true;
  }

  /** The end (closing quote) of the object key from `keyStart`; -1 for a key left to the string path. */
  private keyEnd(keyStart: number): number {
    const d = this.data;
    let i = keyStart;
    for (;;) {
      if (i >= this.end) return -1;
      const c = d[i]!;
      if (c === 34) return i;
      if (c === 92 || c < 0x20) return -1;
      if (c < 0x80) i++;
      else {
        const n = utf8SequenceLength(d, i, this.end);
        if (n === 0) return -1;
        i += n;
      }
    }
  }

  /** `order[0, count)`: the object's members from `base` in jsonb's key order; false on a duplicate key. */
  private sortMembers(base: number, count: number): boolean {
    const d = this.data;
    const m = this.members;
    if (this.order.length < count) this.order = new Int32Array(count * 2);
    const order = this.order;
    // Insertion sort: objects are small. An equal key (a duplicate) is left to the string path.
    for (let k = 0; k < count; k++) {
      const x = base + 4 * k;
      let j = k - 1;
      for (; j >= 0; j--) {
        const y = order[j]!;
        const c = compareKeys(d, m[y]!, m[y + 1]!, m[x]!, m[x + 1]!);
        if (c === 0) return false;
        if (c < 0) break;
        order[j + 1] = y;
      }
      order[j + 1] = x;
    }
    return true;
  }

  /** The object written from `objectStart` (members as read) rewritten in `order`, through the scratch copy. */
  private rewriteMembers(objectStart: number, count: number): void {
    const d = this.data;
    const o = this.out;
    const m = this.members;
    const order = this.order;
    const written = o.at - objectStart;
    if (this.scratch.length < written)
      this.scratch = Buffer.allocUnsafe(Math.max(written, this.scratch.length * 2));
    const scratch = this.scratch;
    if (written > 64) o.buf.copy(scratch, 0, objectStart, o.at);
    else for (let k = 0; k < written; k++) scratch[k] = o.buf[objectStart + k]!;
    o.at = objectStart;
    this.put(123);
    for (let k = 0; k < count; k++) {
      const at = order[k]!;
      if (k > 0) {
        this.put(44);
        this.put(32);
      }
      this.put(34);
      this.putBytes(d, m[at]!, m[at + 1]!);
      this.put(34);
      this.put(58);
      this.put(32);
      this.putBytes(scratch, m[at + 2]! - objectStart, m[at + 3]! - objectStart);
    }
    this.put(125);
  }
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/** jsonb_out's short escapes for controls: \b \t \n \f \r (others are written as \u00xx). */
const SHORT_LETTER: Record<number, number> = { 8: 98, 9: 116, 10: 110, 12: 102, 13: 114 };

function hexAt(d: Buffer, i: number, end: number): number {
  if (i + 4 > end) return -1;
  let n = 0;
  for (let k = 0; k < 4; k++) {
    const c = d[i + k]!;
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (v < 0) return -1;
    n = n * 16 + v;
  }
  return n;
}

/** jsonb's key order on raw key bytes: shorter first, then bytewise. */
function compareKeys(d: Buffer, a: number, aEnd: number, b: number, bEnd: number): number {
  const la = aEnd - a;
  const lb = bEnd - b;
  if (la !== lb) return la - lb;
  for (let k = 0; k < la; k++) {
    const x = d[a + k]!;
    const y = d[b + k]!;
    if (x !== y) return x - y;
  }
  return 0;
}

/** The length of the well-formed UTF-8 sequence at `i` (2–4), or 0 when it is not one. */
export function utf8SequenceLength(data: Buffer, i: number, end: number): number {
  const c = data[i]!;
  if (c >= 0xc2 && c <= 0xdf) return continues(data, i + 1, end) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const d = data[i + 1]!;
    if (c === 0xe0 && d < 0xa0) return 0;
    if (c === 0xed && d > 0x9f) return 0;
    return continues(data, i + 1, end) && continues(data, i + 2, end) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const d = data[i + 1]!;
    if (c === 0xf0 && d < 0x90) return 0;
    if (c === 0xf4 && d > 0x8f) return 0;
    return continues(data, i + 1, end) && continues(data, i + 2, end) && continues(data, i + 3, end) ? 4 : 0;
  }
  return 0;
}

/** A UTF-8 continuation byte at `j`, before `end`. */
function continues(data: Buffer, j: number, end: number): boolean {
  return j < end && (data[j]! & 0xc0) === 0x80;
}
