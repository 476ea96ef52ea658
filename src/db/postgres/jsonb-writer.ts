/**
 * jsonb's printed text written as canonical JSON (json-canonical.ts) into a buffer: the writer behind the
 * jsonb fast path of copy-json-fields.ts.
 */
// Byte values (and isDigit) are local to each writer file: imported ones are not folded into the hot loops.
const QUOTE = 34;
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const SPACE = 32;
const LOWER_N = 110;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

const MAX_JSONB_DEPTH = 64;

function perDepth(): number[][] {
  return Array.from({ length: MAX_JSONB_DEPTH }, () => []);
}

/** One jsonb text (in `s` from `p` up to `n`) written canonically into `out`; `p` is the read position. */
export class JsonbWriter {
  p = 0;
  private s: Buffer = Buffer.alloc(0);
  private n = 0;
  private out: Buffer = Buffer.alloc(0);
  /** Per depth, the members of the object being written there (reused: no arrays per object). */
  private readonly keysAt = perDepth();
  private readonly valuesAt = perDepth();
  private readonly orderAt = perDepth();

  /** The text `s[start, end)`, written into `out`. */
  reset(s: Buffer, start: number, end: number, out: Buffer): this {
    this.s = s;
    this.n = end;
    this.out = out;
    this.p = start;
    return this;
  }

  get end(): number {
    return this.n;
  }

  skipSpaces(): number {
    while (this.p < this.n && this.s[this.p] === SPACE) this.p++;
    return this.p;
  }

  /** Writes the value at `p` from `at`; returns where the output ends, or -1. */
  value(at: number, depth: number): number {
    const { s, out } = this;
    const c = this.byte(this.skipSpaces());
    if (c === QUOTE) return this.string(at);
    if (c === 123 /* { */) return depth < MAX_JSONB_DEPTH ? this.object(at, depth) : -1;
    if (c === 91 /* [ */) return depth < MAX_JSONB_DEPTH ? this.array(at, depth) : -1;
    if (c === MINUS || isDigit(c)) return this.number(at);
    const word = c === 116 ? 'true' : c === 102 ? 'false' : c === LOWER_N ? 'null' : null;
    if (word === null || this.p + word.length > this.n) return -1;
    for (let j = 0; j < word.length; j++) {
      if (s[this.p + j] !== word.charCodeAt(j)) return -1;
      out[at++] = word.charCodeAt(j);
    }
    this.p += word.length;
    return at;
  }

  /**
   * A string copied as it is, when it is in JSON.stringify's form as jsonb prints it: escapes only for `"`,
   * `\\`, `\b \f \n \r \t` and other controls as `\u00xx` (lowercase), no raw control characters.
   */
  private string(at: number): number {
    const { s, n, out } = this;
    out[at++] = QUOTE;
    for (let q = this.p + 1; q < n; q++) {
      const c = s[q]!;
      if (c === QUOTE) {
        out[at++] = QUOTE;
        this.p = q + 1;
        return at;
      }
      if (c < 0x20) return -1;
      out[at++] = c;
      if (c === BACKSLASH) {
        const e = this.byte(++q);
        if (e === 117 /* u */) {
          if (q + 4 >= n || s[q + 1] !== ZERO || s[q + 2] !== ZERO) return -1;
          const hi = s[q + 3]!;
          const lo = s[q + 4]!;
          if ((hi !== ZERO && hi !== 49) || !(isDigit(lo) || (lo >= 97 && lo <= 102))) return -1;
          const code = (hi - ZERO) * 16 + (isDigit(lo) ? lo - ZERO : lo - 87);
          if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return -1;
          for (let r = q; r <= q + 4; r++) out[at++] = s[r]!;
          q += 4;
        } else if (
          e === QUOTE ||
          e === BACKSLASH ||
          e === 98 ||
          e === 102 ||
          e === LOWER_N ||
          e === 114 ||
          e === 116
        ) {
          out[at++] = e;
        } else return -1;
      }
    }
    return -1;
  }

  /** Past the closing quote of the string whose opening quote is at `q`; -1 if it does not end. */
  private stringEnd(q: number): number {
    const { s, n } = this;
    for (q++; q < n; q++) {
      const c = s[q];
      if (c === QUOTE) return q + 1;
      if (c === BACKSLASH) q++;
    }
    return -1;
  }

  /** numeric's output `-?digits[.digits]`: trailing fractional zeros dropped (the padding limits of json-canonical). */
  private number(at: number): number {
    const { s, n, out } = this;
    const start = this.p;
    let q = start;
    const negative = s[q] === MINUS;
    if (negative) q++;
    const intStart = q;
    while (q < n && isDigit(s[q]!)) q++;
    const intEnd = q;
    if (intEnd === intStart || intEnd - intStart > 51 || (s[intStart] === ZERO && intEnd - intStart > 1))
      return -1;
    let last = intEnd;
    if (s[q] === DOT) {
      q++;
      const fracStart = q;
      while (q < n && isDigit(s[q]!)) q++;
      if (q === fracStart || q - fracStart > 50) return -1;
      last = q;
      while (s[last - 1] === ZERO) last--;
      if (last === fracStart) last = intEnd;
    }
    const c = this.byte(q);
    if (c === 101 || c === 69 || c === DOT) return -1; // an exponent: not numeric's output
    const zero = intEnd - intStart === 1 && s[intStart] === ZERO && last === intEnd;
    for (let r = negative && zero ? intStart : start; r < last; r++) out[at++] = s[r]!;
    this.p = q;
    return at;
  }

  private array(at: number, depth: number): number {
    const { out } = this;
    this.p++;
    out[at++] = 91;
    if (this.byte(this.skipSpaces()) === 93) {
      this.p++;
      out[at++] = 93;
      return at;
    }
    for (;;) {
      at = this.value(at, depth + 1);
      if (at < 0) return -1;
      const c = this.byte(this.skipSpaces());
      this.p++;
      if (c === 93) {
        out[at++] = 93;
        return at;
      }
      if (c !== 44) return -1;
      out[at++] = 44;
    }
  }

  /** Members are found first (key and value spans), then written in key order. */
  private object(at: number, depth: number): number {
    const { s, out } = this;
    this.p++;
    out[at++] = 123;
    if (this.byte(this.skipSpaces()) === 125) {
      this.p++;
      out[at++] = 125;
      return at;
    }
    const keys = this.keysAt[depth]!; // start, end (past the closing quote) of each key
    const values = this.valuesAt[depth]!; // start of each value
    let count = 0; // entries are overwritten, never removed: the arrays keep their size from object to object
    for (;;) {
      const k = this.skipSpaces();
      if (this.byte(k) !== QUOTE) return -1;
      const kEnd = this.stringEnd(k);
      if (kEnd < 0) return -1;
      for (let q = k + 1; q < kEnd - 1; q++) {
        const b = s[q]!;
        if (b >= 0x80 || b < 0x20 || b === BACKSLASH) return -1;
      }
      this.p = kEnd;
      if (this.byte(this.skipSpaces()) !== COLON) return -1;
      this.p++;
      keys[2 * count] = k;
      keys[2 * count + 1] = kEnd;
      values[count++] = this.skipSpaces();
      if (!this.skipValue()) return -1;
      const c = this.byte(this.skipSpaces());
      this.p++;
      if (c === 125) break;
      if (c !== 44) return -1;
    }
    const after = this.p;
    const order = this.orderAt[depth]!;
    if (!sortKeys(s, keys, count, order)) return -1;
    for (let j = 0; j < count; j++) {
      const i = order[j]!;
      if (j > 0) out[at++] = 44;
      for (let q = keys[2 * i]!; q < keys[2 * i + 1]!; q++) out[at++] = s[q]!;
      out[at++] = COLON;
      this.p = values[i]!;
      at = this.value(at, depth + 1);
      if (at < 0) return -1;
    }
    this.p = after;
    out[at++] = 125;
    return at;
  }

  /** Moves `p` past the value at `p` (strings and brackets matched); false if it does not end. */
  private skipValue(): boolean {
    let q = this.p;
    const first = this.byte(q);
    if (first === QUOTE) {
      this.p = this.stringEnd(q);
      return this.p >= 0;
    }
    if (first === 123 || first === 91) {
      let open = 0;
      for (; q < this.n; q++) {
        const c = this.s[q];
        if (c === QUOTE) {
          q = this.stringEnd(q) - 1;
          if (q < 0) return false;
        } else if (c === 123 || c === 91) open++;
        else if ((c === 125 || c === 93) && --open === 0) {
          this.p = q + 1;
          return true;
        }
      }
      return false;
    }
    for (; q < this.n; q++) {
      const c = this.s[q];
      if (c === 44 || c === 125 || c === 93 || c === SPACE) break;
    }
    if (q === this.p) return false;
    this.p = q;
    return true;
  }

  /** The byte at `q`, or -1 past the end (the scratch buffer holds older bytes there). */
  private byte(q: number): number {
    return q < this.n ? this.s[q]! : -1;
  }
}

/**
 * `order[0, count)`: the indexes of the first `count` members in byte order of their keys (plain ASCII);
 * false when two keys are equal.
 */
function sortKeys(s: Buffer, keys: number[], count: number, order: number[]): boolean {
  for (let i = 0; i < count; i++) {
    let j = i;
    while (j > 0) {
      const cmp = compareKeys(s, keys, order[j - 1]!, i);
      if (cmp === 0) return false;
      if (cmp < 0) break;
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  return true;
}

function compareKeys(s: Buffer, keys: number[], a: number, b: number): number {
  // The bytes between the quotes; a key that is a prefix of another sorts first.
  let i = keys[2 * a]! + 1;
  const aEnd = keys[2 * a + 1]! - 1;
  let j = keys[2 * b]! + 1;
  const bEnd = keys[2 * b + 1]! - 1;
  for (; i < aEnd && j < bEnd; i++, j++) {
    const d = s[i]! - s[j]!;
    if (d !== 0) return d;
  }
  return aEnd - i - (bEnd - j);
}
