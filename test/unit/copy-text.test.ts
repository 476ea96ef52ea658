// COPY's text format parsed back into fields: NULLs, every escape PostgreSQL prints or accepts, multi-byte
// characters, and rows with the wrong number of fields.
import { describe, expect, it } from 'vitest';
import { parseCopyText } from '../../src/db/postgres/copy-text.js';

describe('parseCopyText', () => {
  it('splits lines and fields, with \\N as NULL and an empty field as the empty string', () => {
    expect(parseCopyText('1\tabc\t\\N\n2\t\tx\n', 3)).toEqual([
      ['1', 'abc', null],
      ['2', '', 'x'],
    ]);
    expect(parseCopyText('', 2)).toEqual([]);
  });

  it('undoes the escapes PostgreSQL prints: backslash, tab, newline, CR and the other control characters', () => {
    const text = 'a\\\\b\\tc\\nd\\re\\bf\\fg\\vh\t\\\\N\tM\\u00fcller \u2603\n';
    expect(parseCopyText(text, 3)).toEqual([['a\\b\tc\nd\re\bf\fg\vh', '\\N', 'Mu00fcller \u2603']]);
  });

  it('reads octal and hex escapes as bytes (UTF-8 together) and a backslash before anything else as that character', () => {
    expect(parseCopyText('\\303\\274\t\\x41\\x4\t\\q\\.\n', 3)).toEqual([['ü', 'A\u0004', 'q.']]);
  });

  it('keeps a bytea field in its hex form (the decoder turns it into bytes)', () => {
    expect(parseCopyText('\\\\x00ff\n', 1)).toEqual([['\\x00ff']]);
  });

  it('accepts a last line without a newline', () => {
    expect(parseCopyText('1\t2', 2)).toEqual([['1', '2']]);
  });

  it('refuses rows with too few or too many fields', () => {
    expect(() => parseCopyText('1\t2\n', 3)).toThrow(/field count other than 3/);
    expect(() => parseCopyText('1\t2\t3\n', 2)).toThrow(/field count other than 2/);
  });
});
