/**
 * JSON text in the form PostgreSQL prints a jsonb value: object keys shorter first, then by their UTF-8
 * bytes, a duplicate key keeping its last value; `", "` and `": "` between items and nothing else outside
 * strings; strings with only `\" \\ \b \f \n \r \t` and `\u00xx` (other controls) escaped; numbers as written
 * (`-0` as `0`). A batch's jsonb sent in this form comes back from the target as the same text, so the
 * check can compare what was sent with what the target prints (write.ts) without decoding either.
 *
 * Only a spelling: the value is unchanged. A text this cannot spell exactly as PostgreSQL would (a number
 * with an exponent, which PostgreSQL rewrites; `\u0000` or a lone surrogate, which it rejects; invalid JSON;
 * nesting over MAX_DEPTH) is returned as it is, and PostgreSQL parses it as before.
 */

const MAX_DEPTH = 200;

/** Thrown inside the printer for a text returned unchanged. */
class AsWritten extends Error {}
const AS_WRITTEN = new AsWritten();

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const PLAIN_STRING = /[^"\\\u0000-\u001f]*"/y;
const NON_ASCII = /[^\u0000-\u007f]/;

/** `json` in PostgreSQL's jsonb output form, or `json` itself when that form cannot be told (see above). */
export function jsonbText(json: string): string {
  try {
    const p = new Printer(json);
    const out = p.value(0);
    p.space();
    return p.at === json.length ? out : json;
  } catch (error) {
    if (error === AS_WRITTEN || error instanceof RangeError) return json;
    throw error;
  }
}

class Printer {
  at = 0;
  constructor(private readonly text: string) {}

  space(): void {
    const t = this.text;
    let c = t.charCodeAt(this.at);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = t.charCodeAt(++this.at);
  }

  value(depth: number): string {
    if (depth > MAX_DEPTH) throw AS_WRITTEN;
    this.space();
    const t = this.text;
    const c = t.charCodeAt(this.at);
    if (c === 123) return this.object(depth);
    if (c === 91) return this.array(depth);
    if (c === 34) return quote(this.string());
    if (t.startsWith('true', this.at)) return this.literal('true');
    if (t.startsWith('false', this.at)) return this.literal('false');
    if (t.startsWith('null', this.at)) return this.literal('null');
    NUMBER.lastIndex = this.at;
    const m = NUMBER.exec(t);
    if (!m || m[1] !== undefined) throw AS_WRITTEN;
    this.at += m[0].length;
    const n = m[0];
    // numeric has no negative zero.
    return n.charCodeAt(0) === 45 && /^-0(\.0+)?$/.test(n) ? n.slice(1) : n;
  }

  private literal(word: string): string {
    this.at += word.length;
    return word;
  }

  private object(depth: number): string {
    this.at++;
    this.space();
    const items = new Map<string, string>();
    if (this.text.charCodeAt(this.at) === 125) {
      this.at++;
      return '{}';
    }
    for (;;) {
      this.space();
      if (this.text.charCodeAt(this.at) !== 34) throw AS_WRITTEN;
      const key = this.string();
      this.space();
      if (this.text.charCodeAt(this.at++) !== 58) throw AS_WRITTEN;
      const value = this.value(depth + 1);
      items.delete(key);
      items.set(key, value);
      this.space();
      const c = this.text.charCodeAt(this.at++);
      if (c === 125) break;
      if (c !== 44) throw AS_WRITTEN;
    }
    const keys = [...items.keys()].sort(jsonbKeyOrder);
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out += ', ';
      out += `${quote(keys[i]!)}: ${items.get(keys[i]!)!}`;
    }
    return `${out}}`;
  }

  private array(depth: number): string {
    this.at++;
    this.space();
    if (this.text.charCodeAt(this.at) === 93) {
      this.at++;
      return '[]';
    }
    let out = '[';
    for (let first = true; ; first = false) {
      if (!first) out += ', ';
      out += this.value(depth + 1);
      this.space();
      const c = this.text.charCodeAt(this.at++);
      if (c === 93) break;
      if (c !== 44) throw AS_WRITTEN;
    }
    return `${out}]`;
  }

  /** A string token at `at` (its opening quote), decoded. */
  private string(): string {
    const t = this.text;
    const start = this.at + 1;
    PLAIN_STRING.lastIndex = start;
    if (PLAIN_STRING.test(t)) {
      this.at = PLAIN_STRING.lastIndex;
      return t.slice(start, this.at - 1);
    }
    let out = '';
    let i = start;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 34) break;
      if (Number.isNaN(c) || c < 32) throw AS_WRITTEN;
      if (c !== 92) {
        if (c >= 0xd800 && c <= 0xdfff) {
          // A raw surrogate pair stays; a lone one cannot be UTF-8.
          const d = t.charCodeAt(i + 1);
          if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) throw AS_WRITTEN;
          out += t[i]! + t[i + 1]!;
          i += 2;
          continue;
        }
        out += t[i]!;
        i++;
        continue;
      }
      const e = t[i + 1];
      i += 2;
      if (e === 'u') {
        const unit = hex4(t, i);
        i += 4;
        if (unit === 0) throw AS_WRITTEN;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = t[i] === '\\' && t[i + 1] === 'u' ? hex4(t, i + 2) : -1;
          if (!(low >= 0xdc00 && low <= 0xdfff)) throw AS_WRITTEN;
          out += String.fromCharCode(unit, low);
          i += 6;
        } else if (unit >= 0xdc00 && unit <= 0xdfff) throw AS_WRITTEN;
        else out += String.fromCharCode(unit);
        continue;
      }
      const plain = ESCAPED[e ?? ''];
      if (plain === undefined) throw AS_WRITTEN;
      out += plain;
    }
    this.at = i + 1;
    return out;
  }
}

const ESCAPED: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function hex4(t: string, i: number): number {
  const s = t.slice(i, i + 4);
  return /^[0-9a-fA-F]{4}$/.test(s) ? Number.parseInt(s, 16) : -1;
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const ESCAPE_ALL = /["\\\u0000-\u001f]/g;
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A decoded string quoted as PostgreSQL's escape_json writes it. */
function quote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  const escaped = s.replace(
    ESCAPE_ALL,
    (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${escaped}"`;
}

/** jsonb's key order: shorter first (in UTF-8 bytes), then bytewise. */
function jsonbKeyOrder(a: string, b: string): number {
  if (!NON_ASCII.test(a) && !NON_ASCII.test(b)) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length !== y.length ? x.length - y.length : Buffer.compare(x, y);
}
