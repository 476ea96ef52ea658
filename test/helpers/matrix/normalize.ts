// The type matrix's own idea of "equal" (test/e2e/type-matrix.test.ts), written independently of the tool's
// canonical code: each value, as a driver or a SQL text cast returned it, becomes a string per comparison
// class, and two values are equal when their strings are. The rules are the databases' own equality:
// CHAR ignores trailing spaces, float4 is a float32 value (read widened to a double, exactly: a hand-made
// double column must hold that same value) and float8 a double (never decimal text, and
// -0 = 0 as both databases compare them), decimals compare by value, timestamps as instants or wall clocks
// with trailing zero fractions dropped, JSON as documents with exact numbers.

export type Cls =
  | 'int'
  | 'dec'
  | 'f4'
  | 'f8'
  | 'bool'
  | 'char'
  | 'text'
  | 'bytes'
  | 'date'
  | 'time'
  | 'ts'
  | 'tstz'
  | 'json'
  | 'uuid';

/** `v` (a driver value or SQL text) as this class's comparable string; null stays null. */
export function normalize(cls: Cls, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (cls) {
    case 'int':
      return typeof v === 'boolean' ? (v ? '1' : '0') : BigInt(String(v).trim()).toString();
    case 'dec':
      return decimalValue(String(v));
    case 'f4':
      return float32Text(toNumber(v));
    case 'f8':
      return floatText(toNumber(v));
    case 'bool':
      return boolText(v);
    case 'char':
      return text(v).replace(/ +$/, '');
    case 'text':
      return text(v);
    case 'bytes':
      return Buffer.isBuffer(v) ? v.toString('hex') : String(v).toLowerCase();
    case 'date':
      return String(v);
    case 'time':
      return timeText(String(v));
    case 'ts':
      return timestampText(String(v));
    case 'tstz':
      return instantText(String(v));
    case 'json':
      return canonicalJson(text(v));
    case 'uuid':
      return String(v).toLowerCase();
  }
}

function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const s = String(v).trim();
  if (/^-?inf(inity)?$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return Number.NaN;
  const n = Number(s);
  if (Number.isNaN(n)) throw new Error(`not a number: ${JSON.stringify(s)}`);
  return n;
}

/** Shortest round-trip text; NaN equals NaN, -0 equals 0 (as `=` in both databases). */
function floatText(n: number): string {
  return Number.isNaN(n) ? 'NaN' : String(n === 0 ? 0 : n);
}

/**
 * A float4 column's value, read exactly (widened to a double by the reader): its double text, flagged when
 * it is no float32 at all (e.g. a double column that received a decimal rendering instead of the value).
 */
function float32Text(n: number): string {
  return Number.isNaN(n) || Math.fround(n) === n ? floatText(n) : `${floatText(n)} (not a float32)`;
}

function boolText(v: unknown): string {
  const s = String(v).trim().toLowerCase();
  if (['1', 't', 'true'].includes(s)) return 'true';
  if (['0', 'f', 'false'].includes(s)) return 'false';
  throw new Error(`not a boolean: ${JSON.stringify(v)}`);
}

/** A decimal's value as `[-]digits e exponent` with no leading or trailing zeros: `12.50` and `1.25e1` agree. */
function decimalValue(s: string): string {
  const t = s.trim();
  if (/^[+-]?(nan|inf(inity)?)$/i.test(t)) return t.replace(/^\+/, '').toLowerCase();
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(t);
  if (!m || `${m[2]}${m[3] ?? ''}` === '') throw new Error(`not a decimal: ${JSON.stringify(s)}`);
  let digits = `${m[2]}${m[3] ?? ''}`.replace(/^0+/, '');
  let exp = Number(m[4] ?? 0) - (m[3] ?? '').length;
  if (digits === '') return '0';
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  exp += trailing;
  return `${m[1] === '-' ? '-' : ''}${digits}e${exp}`;
}

function dropZeros(fraction: string | undefined): string {
  const f = (fraction ?? '').replace(/0+$/, '');
  return f === '' ? '' : `.${f}`;
}

/** `HH:MM[:SS[.f]]` → `HH:MM:SS[.f]` without trailing zeros in the fraction. */
function timeText(s: string): string {
  const m = /^(-?\d+:\d\d)(?::(\d\d)(?:\.(\d+))?)?$/.exec(s.trim());
  if (!m) throw new Error(`not a time: ${JSON.stringify(s)}`);
  return `${m[1]}:${m[2] ?? '00'}${dropZeros(m[3])}`;
}

const STAMP =
  /^(\d{4,}-\d\d-\d\d)(?:[ T](\d\d:\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*([zZ]|[+-]\d\d(?::?\d\d)?)?( BC)?$/;

/** A wall clock `YYYY-MM-DD HH:MM:SS[.f]` (date-only and `T` forms accepted); infinities kept. */
function timestampText(s: string): string {
  const t = s.trim();
  if (/^-?infinity$/.test(t)) return t;
  const m = STAMP.exec(t);
  if (!m || m[5] !== undefined) throw new Error(`not a timestamp without zone: ${JSON.stringify(s)}`);
  return `${m[1]} ${m[2] ?? '00:00'}:${m[3] ?? '00'}${dropZeros(m[4])}${m[6] ?? ''}`;
}

/** An instant as its UTC wall clock; no zone means UTC (how the readers' sessions print them). */
function instantText(s: string): string {
  const t = s.trim();
  if (/^-?infinity$/.test(t)) return t;
  const m = STAMP.exec(t);
  if (!m || m[6] !== undefined) throw new Error(`not a timestamp with zone: ${JSON.stringify(s)}`);
  const [y, mo, d] = m[1]!.split('-').map(Number) as [number, number, number];
  const [h, mi] = (m[2] ?? '00:00').split(':').map(Number) as [number, number];
  const zone = (m[5] ?? 'Z').toUpperCase();
  let offset = 0;
  if (zone !== 'Z') {
    const z = /^([+-])(\d\d):?(\d\d)?$/.exec(zone)!;
    offset = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? 0));
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi - offset, Number(m[3] ?? 0), 0);
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z for years 0-9999
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${dropZeros(m[4])}`;
}

/**
 * JSON text → one canonical text: object keys sorted (the last of duplicate keys wins, as in jsonb), no
 * whitespace, strings re-escaped alike, numbers as exact decimal values (12345678901234567890123 stays
 * exact, 2.50 equals 2.5). A hand-written parser, because JSON.parse rounds big numbers to doubles.
 */
function canonicalJson(s: string): string {
  let at = 0;
  const ws = (): void => {
    while (at < s.length && ' \t\r\n'.includes(s[at]!)) at++;
  };
  const fail = (): never => {
    throw new Error(`not JSON at ${at}: ${JSON.stringify(s.slice(0, 80))}`);
  };
  const str = (): string => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\.)*"/s.exec(s.slice(at));
    if (!m) fail();
    at += m![0].length;
    return JSON.parse(m![0]) as string;
  };
  const value = (): string => {
    ws();
    const c = s[at];
    if (c === '{') {
      at++;
      const members = new Map<string, string>();
      ws();
      if (s[at] === '}') at++;
      else {
        for (;;) {
          ws();
          const k = str();
          ws();
          if (s[at++] !== ':') fail();
          members.set(k, value());
          ws();
          const sep = s[at++];
          if (sep === '}') break;
          if (sep !== ',') fail();
        }
      }
      const keys = [...members.keys()].sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${members.get(k)}`).join(',')}}`;
    }
    if (c === '[') {
      at++;
      const items: string[] = [];
      ws();
      if (s[at] === ']') at++;
      else {
        for (;;) {
          items.push(value());
          ws();
          const sep = s[at++];
          if (sep === ']') break;
          if (sep !== ',') fail();
        }
      }
      return `[${items.join(',')}]`;
    }
    if (c === '"') return JSON.stringify(str());
    const lit = /^(true|false|null)/.exec(s.slice(at));
    if (lit) {
      at += lit[0].length;
      return lit[0];
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(at));
    if (!num) fail();
    at += num![0].length;
    return `#${decimalValue(num![0])}`;
  };
  const out = value();
  ws();
  if (at !== s.length) fail();
  return out;
}
