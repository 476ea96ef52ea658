/**
 * Canonical JSON text: one spelling per JSON document, so that MySQL's `{"b": [1, 2], "a": 1.0}` and
 * PostgreSQL jsonb's `{"a": 1, "b": [1, 2]}` (its own key order: by length, then bytes) compare and hash alike.
 *
 * Rules:
 * - no whitespace outside strings;
 * - object keys sorted by UTF-16 code unit order (what `Array.prototype.sort()` does on strings; this differs
 *   from code point order only between U+E000..U+FFFF and astral characters). Duplicate keys: the last one
 *   wins, as in `JSON.parse` and PostgreSQL jsonb;
 * - strings (keys and values) are decoded, then written with `JSON.stringify`'s escaping: `\"`, `\\`,
 *   `\b \f \n \r \t`, other controls as `\u00xx`, lone surrogates as `\udxxx` (lowercase hex), everything
 *   else raw (so `"\u00e9"` and `"é"`, `"\ud83d\ude00"` and `"😀"`, `"\/"` and `"/"` are equal). A lone
 *   surrogate escape like `"\ud800"` is kept as that escape: it survives unchanged rather than turning into
 *   U+FFFD;
 * - numbers keep their exact value, never passing through a JS number; see {@link canonicalNumber}.
 *
 * Hand-written single-pass tokenizer; nesting is handled with an explicit stack, so depth is not limited by
 * the JS call stack.
 */

/** The JSON text is not valid JSON. `offset` is the UTF-16 index in the text where parsing failed. */
export class InvalidJsonError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number, text: string) {
    const near = offset < text.length ? ` near ${JSON.stringify(text.slice(offset, offset + 20))}` : '';
    super(`invalid JSON at offset ${offset}: ${message}${near}`);
    this.name = 'InvalidJsonError';
    this.offset = offset;
  }
}

/** JSON numbers with more padding zeros than this are written in exponent form, e.g. `1e400`. */
const JSON_MAX_PADDING = 50;

/**
 * Canonical text of a number given as its parts (value = ±int.frac × 10^exp), exact:
 * leading zeros and trailing fractional zeros removed, `-0` → `0`, written as a plain decimal
 * (`1.0` → `1`, `10e-1` → `1`, `1.5E+3` → `1500`, `0.0012e2` → `0.12`) unless that would need more than
 * `maxPadding` zeros added (before the digits after `0.`, or after them before the point); then as
 * `d[.ddd]e<x>` with lowercase `e`, no `+` and no leading zeros in `x` (`1e400`, `-1.25e-60`).
 * The form depends only on the value, so equal values always print alike.
 *
 * @param intDigits digits before the point, may be empty or have leading zeros
 * @param fracDigits digits after the point, may be empty or have trailing zeros
 * @param expText the exponent as written after `e`: optional sign then digits; empty for none
 */
export function canonicalNumber(
  negative: boolean,
  intDigits: string,
  fracDigits: string,
  expText: string,
  maxPadding: number,
): string {
  const digits = intDigits + fracDigits;
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === ZERO) first++;
  if (first === digits.length) return '0';
  let last = digits.length - 1;
  while (digits.charCodeAt(last) === ZERO) last--;
  const significand = digits.slice(first, last + 1);
  const n = significand.length;
  // value = significand × 10^shift, where shift = exponent - fracDigits.length + trailing zeros dropped
  const shiftBase = digits.length - 1 - last - fracDigits.length;
  const sign = negative ? '-' : '';

  const exponent = parseExponent(expText);
  if (typeof exponent === 'bigint') {
    // |exponent| >= 1e15: far beyond any padding limit, so always the exponent form
    const x = exponent + BigInt(shiftBase + n - 1);
    return sign + scientific(significand, x.toString());
  }
  const shift = exponent + shiftBase;
  if (shift >= 0) {
    if (shift <= maxPadding) return sign + significand + '0'.repeat(shift);
  } else {
    const point = n + shift; // digits before the decimal point
    if (point > 0) return sign + significand.slice(0, point) + '.' + significand.slice(point);
    if (-point <= maxPadding) return sign + '0.' + '0'.repeat(-point) + significand;
  }
  return sign + scientific(significand, String(n + shift - 1));
}

function scientific(significand: string, x: string): string {
  const head = significand.length > 1 ? significand[0] + '.' + significand.slice(1) : significand;
  return head + 'e' + x;
}

/** Exponents written with more than 15 digits are returned as a bigint (exact beyond 2^53). */
function parseExponent(expText: string): number | bigint {
  if (expText === '') return 0;
  let i = 0;
  const c = expText.charCodeAt(0);
  const negative = c === MINUS;
  if (negative || c === PLUS) i = 1;
  while (i < expText.length - 1 && expText.charCodeAt(i) === ZERO) i++;
  const digits = expText.slice(i);
  if (digits.length <= 15) {
    const value = Number(digits);
    return negative ? -value : value;
  }
  const value = BigInt(digits);
  return negative ? -value : value;
}

/**
 * Parses JSON text and writes it canonically (rules at the top of this file).
 * @throws InvalidJsonError with the offset of the first problem
 */
export function canonicalJson(text: string): string {
  return new Canonicalizer(text).run();
}

const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const LOWER_E = 101;
const UPPER_E = 69;
const HEX4 = /^[0-9a-fA-F]{4}$/;

interface ObjectFrame {
  object: true;
  /** Decoded keys, for sorting. */
  keys: string[];
  /** The same keys written canonically (quoted, escaped). */
  quotedKeys: string[];
  values: string[];
}
interface ArrayFrame {
  object: false;
  items: string[];
}
type Frame = ObjectFrame | ArrayFrame;

class Canonicalizer {
  private pos = 0;
  /** The decoded text of the last string read. */
  private decoded = '';

  constructor(private readonly text: string) {}

  run(): string {
    const stack: Frame[] = [];
    for (;;) {
      // Read one value; an opening bracket with content pushes a frame and reads its first value.
      let value: string;
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === OPEN_BRACE) {
        this.pos++;
        this.skipWhitespace();
        if (this.text.charCodeAt(this.pos) !== CLOSE_BRACE) {
          const frame: ObjectFrame = { object: true, keys: [], quotedKeys: [], values: [] };
          this.readKey(frame);
          stack.push(frame);
          continue;
        }
        this.pos++;
        value = '{}';
      } else if (c === OPEN_BRACKET) {
        this.pos++;
        this.skipWhitespace();
        if (this.text.charCodeAt(this.pos) !== CLOSE_BRACKET) {
          stack.push({ object: false, items: [] });
          continue;
        }
        this.pos++;
        value = '[]';
      } else {
        value = this.readScalar(c);
      }

      // Attach the value to its container; close every container that ends here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.skipWhitespace();
          if (this.pos < this.text.length) this.fail('unexpected text after the JSON value');
          return value;
        }
        if (top.object) top.values.push(value);
        else top.items.push(value);
        this.skipWhitespace();
        const d = this.text.charCodeAt(this.pos);
        if (d === COMMA) {
          this.pos++;
          if (top.object) this.readKey(top);
          break;
        }
        if (top.object ? d !== CLOSE_BRACE : d !== CLOSE_BRACKET) {
          this.fail(top.object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        this.pos++;
        stack.pop();
        value = top.object ? writeObject(top) : '[' + top.items.join(',') + ']';
      }
    }
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 32 || c === 10 || c === 13 || c === 9) pos++;
      else break;
    }
    this.pos = pos;
  }

  private readKey(frame: ObjectFrame): void {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail('expected a string key');
    frame.quotedKeys.push(this.readString());
    frame.keys.push(this.decoded);
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) !== COLON) this.fail("expected ':' after the key");
    this.pos++;
  }

  private readScalar(c: number): string {
    if (c === QUOTE) return this.readString();
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.readNumber();
    if (c === 116 /* t */) return this.readLiteral('true');
    if (c === 102 /* f */) return this.readLiteral('false');
    if (c === 110 /* n */) return this.readLiteral('null');
    return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'expected a JSON value');
  }

  private readLiteral(word: string): string {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return word;
  }

  /**
   * At the opening quote: returns the string written canonically (`JSON.stringify` of the decoded string) and
   * leaves the decoded string in `decoded`. Fast path: without escapes or surrogates the text already is the
   * canonical form.
   */
  private readString(): string {
    const text = this.text;
    const start = this.pos + 1;
    let pos = start;
    let surrogates = false;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH && (c < 0xd800 || c > 0xdfff)) {
        pos++;
        continue;
      }
      if (c === QUOTE) {
        this.pos = pos + 1;
        const raw = text.slice(start, pos);
        this.decoded = raw;
        return surrogates ? JSON.stringify(raw) : text.slice(start - 1, pos + 1);
      }
      if (c === BACKSLASH) break;
      if (c < 0x20) this.failAt(pos, 'control characters in strings must be escaped');
      if (Number.isNaN(c)) this.failAt(start - 1, 'unterminated string');
      surrogates = true; // paired or not: JSON.stringify decides
      pos++;
    }
    this.pos = pos;
    const decoded = text.slice(start, pos) + this.readEscapedRest(start - 1);
    this.decoded = decoded;
    return JSON.stringify(decoded);
  }

  /** The rest of a string from its first backslash: the slow path. */
  private readEscapedRest(openQuote: number): string {
    const text = this.text;
    let out = '';
    let pos = this.pos;
    let runStart = pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === QUOTE) {
        this.pos = pos + 1;
        return out + text.slice(runStart, pos);
      }
      if (Number.isNaN(c)) this.failAt(openQuote, 'unterminated string');
      if (c < 0x20) this.failAt(pos, 'control characters in strings must be escaped');
      if (c !== BACKSLASH) {
        pos++;
        continue;
      }
      out += text.slice(runStart, pos);
      const e = text.charCodeAt(pos + 1);
      switch (e) {
        case QUOTE:
          out += '"';
          break;
        case BACKSLASH:
          out += '\\';
          break;
        case 47:
          out += '/';
          break;
        case 98:
          out += '\b';
          break;
        case 102:
          out += '\f';
          break;
        case 110:
          out += '\n';
          break;
        case 114:
          out += '\r';
          break;
        case 116:
          out += '\t';
          break;
        case 117: {
          const hex = text.slice(pos + 2, pos + 6);
          if (!HEX4.test(hex)) this.failAt(pos, 'invalid \\u escape: expected 4 hex digits');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          this.failAt(pos, 'invalid escape');
      }
      pos += 2;
      runStart = pos;
    }
  }

  /** JSON's strict number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. */
  private readNumber(): string {
    const text = this.text;
    const start = this.pos;
    let pos = start;
    const negative = text.charCodeAt(pos) === MINUS;
    if (negative) pos++;
    const intStart = pos;
    const c = text.charCodeAt(pos);
    if (c === ZERO) {
      pos++;
      if (isDigitCode(text.charCodeAt(pos))) this.failAt(intStart, 'numbers must not have leading zeros');
    } else if (c > ZERO && c <= NINE) pos = skipDigits(text, pos + 1);
    else this.failAt(pos, 'expected a digit');
    const intEnd = pos;

    let fracStart = pos;
    let fracEnd = pos;
    if (text.charCodeAt(pos) === DOT) {
      fracStart = pos + 1;
      fracEnd = skipDigits(text, fracStart);
      if (fracEnd === fracStart) this.failAt(fracStart, 'expected a digit after the decimal point');
      pos = fracEnd;
    }
    let expStart = pos;
    const e = text.charCodeAt(pos);
    if (e === LOWER_E || e === UPPER_E) {
      expStart = pos + 1;
      const s = text.charCodeAt(expStart);
      const digitsStart = s === PLUS || s === MINUS ? expStart + 1 : expStart;
      pos = skipDigits(text, digitsStart);
      if (pos === digitsStart) this.failAt(digitsStart, 'expected a digit in the exponent');
    }
    this.pos = pos;

    // Fast path: no exponent, and too few digits to ever need the exponent form (JSON has no leading zeros in
    // the integer part): only trailing fractional zeros and negative zero to deal with.
    if (
      expStart === pos &&
      intEnd - intStart <= JSON_MAX_PADDING + 1 &&
      fracEnd - fracStart <= JSON_MAX_PADDING
    ) {
      let end = fracEnd;
      while (end > fracStart && text.charCodeAt(end - 1) === ZERO) end--;
      if (end > fracStart) return text.slice(start, end);
      return negative && intEnd - intStart === 1 && c === ZERO ? '0' : text.slice(start, intEnd);
    }
    return canonicalNumber(
      negative,
      text.slice(intStart, intEnd),
      text.slice(fracStart, fracEnd),
      text.slice(expStart, pos),
      JSON_MAX_PADDING,
    );
  }

  private fail(message: string): never {
    return this.failAt(this.pos, message);
  }

  private failAt(offset: number, message: string): never {
    throw new InvalidJsonError(message, offset, this.text);
  }
}

function isDigitCode(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function skipDigits(text: string, pos: number): number {
  for (;;) {
    const c = text.charCodeAt(pos);
    if (c >= ZERO && c <= NINE) pos++;
    else return pos;
  }
}

function writeObject(frame: ObjectFrame): string {
  const { keys, quotedKeys, values } = frame;
  const n = keys.length;
  if (n === 1) return '{' + quotedKeys[0] + ':' + values[0] + '}';
  const order = sortedOrder(keys);
  let out = '{';
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    const next = order[j + 1];
    if (next !== undefined && keys[next] === keys[i]) continue; // duplicate key: a later one wins
    out += (out.length === 1 ? '' : ',') + quotedKeys[i] + ':' + values[i];
  }
  return out + '}';
}

/** Indices of `keys` in UTF-16 code unit order; equal keys stay in input order. */
function sortedOrder(keys: readonly string[]): number[] {
  const n = keys.length;
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n > 16) {
    return order.sort((a, b) => {
      const ka = keys[a]!;
      const kb = keys[b]!;
      return ka < kb ? -1 : ka > kb ? 1 : a - b;
    });
  }
  // insertion sort (stable): faster than Array#sort for the small objects of typical rows
  for (let i = 1; i < n; i++) {
    const index = order[i]!;
    const key = keys[index]!;
    let j = i - 1;
    while (j >= 0 && keys[order[j]!]! > key) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = index;
  }
  return order;
}
