/**
 * Parsing COPY's text format (what `COPY … TO STDOUT` prints): one row a line, fields separated by tabs,
 * `\N` for NULL, and backslash escapes for backslash and control characters. Reading a batch as COPY text
 * costs one UTF-8 decode for the whole batch and two `indexOf` scans per field instead of a protocol
 * message and a Buffer slice per field.
 */

const BACKSLASH = 92;

/** Splits complete COPY text lines into rows of `width` raw fields (NULL as null, escapes undone). */
export function parseCopyText(text: string, width: number): (string | null)[][] {
  const rows: (string | null)[][] = [];
  const end = text.length;
  // The next backslash at or after the current field: fields without one are plain slices.
  let backslash = text.indexOf('\\');
  if (backslash < 0) backslash = end;
  let pos = 0;
  while (pos < end) {
    let lineEnd = text.indexOf('\n', pos);
    if (lineEnd < 0) lineEnd = end;
    const row: (string | null)[] = new Array(width);
    for (let i = 0; i < width; i++) {
      let fieldEnd: number;
      if (i === width - 1) {
        fieldEnd = lineEnd;
        const tab = text.indexOf('\t', pos);
        if (tab >= 0 && tab < lineEnd) throw fieldCountError(text, pos, width);
      } else {
        fieldEnd = text.indexOf('\t', pos);
        if (fieldEnd < 0 || fieldEnd > lineEnd) throw fieldCountError(text, pos, width);
      }
      if (backslash >= fieldEnd) row[i] = text.slice(pos, fieldEnd);
      else {
        if (fieldEnd - pos === 2 && backslash === pos && text.charCodeAt(pos + 1) === 78) row[i] = null;
        else row[i] = unescapeField(text, pos, fieldEnd);
        backslash = text.indexOf('\\', fieldEnd);
        if (backslash < 0) backslash = end;
      }
      pos = fieldEnd + 1;
    }
    rows.push(row);
  }
  return rows;
}

function fieldCountError(text: string, pos: number, width: number): Error {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  return copyLineError(text.slice(lineStart, lineStart + 80), width);
}

/**
 * A line of COPY text whose field count is not the column count. The query names every column, so the
 * server cannot print one: it means this reader is wrong.
 */
export function copyLineError(line: string, width: number): Error {
  return new Error(
    `COPY text row with a field count other than ${width}: ${JSON.stringify(line)}; this is a bug in migrate's reading of PostgreSQL's output, please report it`,
  );
}

const SIMPLE_ESCAPES: Record<string, string> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * Undoes COPY's escapes in `text[from, to)`: `\b \f \n \r \t \v`, `\` + octal (1–3 digits), `\x` + hex
 * (1–2 digits), and `\` before any other character meaning that character (PostgreSQL's input rules).
 * Octal and hex escapes are bytes: runs of them are decoded as UTF-8 together.
 */
export function unescapeField(text: string, from: number, to: number): string {
  let out = '';
  const bytes: number[] = [];
  let i = from;
  let plain = from;
  while (i < to) {
    if (text.charCodeAt(i) !== BACKSLASH || i + 1 >= to) {
      i++;
      continue;
    }
    if (plain < i) {
      out += takeBytes(bytes) + text.slice(plain, i);
    }
    const c = text[i + 1]!;
    const code = c.charCodeAt(0);
    if (code >= 48 && code <= 55) {
      let n = 0;
      let j = i + 1;
      while (j < to && j < i + 4 && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 55) {
        n = n * 8 + text.charCodeAt(j) - 48;
        j++;
      }
      bytes.push(n & 0xff);
      i = j;
    } else if (c === 'x' && i + 2 < to && isHex(text.charCodeAt(i + 2))) {
      let j = i + 2;
      let n = 0;
      while (j < to && j < i + 4 && isHex(text.charCodeAt(j))) {
        n = n * 16 + Number.parseInt(text[j]!, 16);
        j++;
      }
      bytes.push(n);
      i = j;
    } else {
      out += takeBytes(bytes) + (SIMPLE_ESCAPES[c] ?? c);
      i += 2;
    }
    plain = i;
  }
  return out + takeBytes(bytes) + text.slice(plain, to);
}

/** Pending escaped bytes as UTF-8 text; empties the list. */
function takeBytes(bytes: number[]): string {
  if (bytes.length === 0) return '';
  const text = Buffer.from(bytes).toString('utf8');
  bytes.length = 0;
  return text;
}

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}
