import { describe, expect, it } from 'vitest';
import { canonicalJson, InvalidJsonError } from '../../src/convert/json-canonical.js';

describe('canonicalJson', () => {
  it('gives MySQL-style and PostgreSQL jsonb-style text of one document the same form', () => {
    // MySQL JSON: spaces after `,` and `:`, keys in its own order, doubles printed with `.0`
    const mysql = '{"id": 7, "tags": ["a", "b"], "price": 10.0, "nested": {"zz": null, "a": true}}';
    // PostgreSQL jsonb: keys by length then bytes, numerics as typed
    const pg = '{"id": 7, "tags": ["a", "b"], "price": 10, "nested": {"a": true, "zz": null}}';
    const expected = '{"id":7,"nested":{"a":true,"zz":null},"price":10,"tags":["a","b"]}';
    expect(canonicalJson(mysql)).toBe(expected);
    expect(canonicalJson(pg)).toBe(expected);
    expect(canonicalJson(JSON.stringify(JSON.parse(mysql), null, 2))).toBe(expected);
  });

  it('removes whitespace of all four JSON kinds and keeps it inside strings', () => {
    expect(canonicalJson(' \t\r\n[ 1 ,\n2 , " a b " ]\n')).toBe('[1,2," a b "]');
    expect(canonicalJson('{ }')).toBe('{}');
    expect(canonicalJson('[ ]')).toBe('[]');
  });

  it('sorts keys by UTF-16 code units at every depth', () => {
    expect(canonicalJson('{"b":1,"a":{"d":[{"z":1,"y":2}],"c":0},"B":2,"":3}')).toBe(
      '{"":3,"B":2,"a":{"c":0,"d":[{"y":2,"z":1}]},"b":1}',
    );
    // U+FF21 (one code unit 0xFF21) sorts after U+1F600 (surrogates 0xD83D 0xDE00): code unit order
    expect(canonicalJson('{"\uff21":1,"😀":2,"é":3}')).toBe('{"é":3,"😀":2,"\uff21":1}');
    // PostgreSQL's length-first order gives the same result
    expect(canonicalJson('{"b": 1, "aa": 2}')).toBe(canonicalJson('{"aa": 2, "b": 1}'));
  });

  it('keeps the last of duplicate keys, as JSON.parse does', () => {
    expect(canonicalJson('{"a":1,"b":2,"a":3}')).toBe('{"a":3,"b":2}');
    expect(canonicalJson('{"a":1,"\\u0061":4}')).toBe('{"a":4}');
  });

  it('keeps numbers exact and normalises only their notation', () => {
    const cases: [string, string][] = [
      ['12345678901234567890123', '12345678901234567890123'],
      ['-12345678901234567890123.000', '-12345678901234567890123'],
      ['9007199254740993', '9007199254740993'],
      ['0.1000000000000000000000000001', '0.1000000000000000000000000001'],
      ['1.0', '1'],
      ['1.00', '1'],
      ['1e0', '1'],
      ['10e-1', '1'],
      ['0.1e1', '1'],
      ['1E+2', '100'],
      ['1.5e3', '1500'],
      ['-0', '0'],
      ['-0.0', '0'],
      ['0e10', '0'],
      ['-0e-10', '0'],
      ['0.00012e2', '0.012'],
      ['123.456e-5', '0.00123456'],
      ['1e50', '1' + '0'.repeat(50)],
      ['1e51', '1e51'],
      ['1' + '0'.repeat(60), '1e60'],
      ['1e-50', '0.' + '0'.repeat(49) + '1'],
      ['1e-52', '1e-52'],
      ['1e400', '1e400'],
      ['1.2500E400', '1.25e400'],
      ['-4.5e-400', '-4.5e-400'],
      ['1e99999999999999999999', '1e99999999999999999999'],
      ['10e99999999999999999999', '1e100000000000000000000'],
    ];
    for (const [input, output] of cases) expect(canonicalJson(input), input).toBe(output);
    // equal values in different notations agree
    expect(canonicalJson('[1e400, 10e399, 0.1e401]')).toBe('[1e400,1e400,1e400]');
    expect(canonicalJson('{"n": 1.0}')).toBe(canonicalJson('{"n":1}'));
  });

  it('re-escapes strings one way: JSON.stringify of the decoded string', () => {
    expect(canonicalJson('"\\u00e9\\/\\"\\\\"')).toBe('"é/\\"\\\\"');
    expect(canonicalJson('"\\b\\f\\n\\r\\t"')).toBe('"\\b\\f\\n\\r\\t"');
    expect(canonicalJson('"\\u0000\\u001F\\u007f"')).toBe('"\\u0000\\u001f\u007f"');
    expect(canonicalJson('"\\u2028"')).toBe('"\u2028"');
    const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('');
    expect(canonicalJson(JSON.stringify(controls))).toBe(JSON.stringify(controls));
  });

  it('treats escaped and raw unicode alike: emoji, combining marks', () => {
    expect(canonicalJson('"\\ud83d\\ude00"')).toBe('"😀"');
    expect(canonicalJson('"😀"')).toBe('"😀"');
    // e + COMBINING ACUTE stays two code points (no Unicode normalisation: it is different text from é)
    expect(canonicalJson('"e\\u0301"')).toBe('"e\u0301"');
    expect(canonicalJson('"e\\u0301"')).not.toBe(canonicalJson('"é"'));
    expect(canonicalJson('{"👍🏽":"👨‍👩‍👧"}')).toBe('{"👍🏽":"👨‍👩‍👧"}');
  });

  it('keeps lone surrogates as lowercase \\u escapes', () => {
    expect(canonicalJson('"\\ud800"')).toBe('"\\ud800"');
    expect(canonicalJson('"\\uDC00x"')).toBe('"\\udc00x"');
    expect(canonicalJson('"a\\uD83D"')).toBe('"a\\ud83d"');
    expect(JSON.parse(canonicalJson('"\\ud800"'))).toBe('\ud800');
  });

  it('accepts any JSON value at the top', () => {
    expect(canonicalJson('null')).toBe('null');
    expect(canonicalJson(' true ')).toBe('true');
    expect(canonicalJson('false')).toBe('false');
    expect(canonicalJson('"x"')).toBe('"x"');
    expect(canonicalJson('-1.50')).toBe('-1.5');
  });

  it('handles deep nesting without recursion', () => {
    const depth = 20_000;
    const text = '['.repeat(depth) + '{"b":1,"a":2}' + ']'.repeat(depth);
    expect(canonicalJson(text)).toBe('['.repeat(depth) + '{"a":2,"b":1}' + ']'.repeat(depth));
  });

  it('agrees with JSON.parse on the document it writes', () => {
    const doc = { z: [1, 2.5, 'x', null, true, { y: -3 }], a: 'é😀\n', m: {} };
    const canonical = canonicalJson(JSON.stringify(doc, null, 3));
    expect(JSON.parse(canonical)).toEqual(doc);
    expect(canonicalJson(canonical)).toBe(canonical);
  });

  it('rejects invalid JSON with the offset of the problem', () => {
    const cases: [string, number][] = [
      ['', 0],
      ['   ', 3],
      ['{"a":', 5],
      ['{"a" 1}', 5],
      ['{a:1}', 1],
      ['[1,]', 3],
      ['[1 2]', 3],
      ['{"a":1,}', 7],
      ['"abc', 0],
      ['"a\nb"', 2],
      ['"\\x"', 1],
      ['"\\u12G4"', 1],
      ['01', 0],
      ['1.', 2],
      ['.5', 0],
      ['1e', 2],
      ['+1', 0],
      ['-', 1],
      ['tru', 0],
      ['NaN', 0],
      ['1 2', 2],
      ['[1]]', 3],
      ["{'a':1}", 1],
    ];
    for (const [text, offset] of cases) {
      let caught: unknown;
      try {
        canonicalJson(text);
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(text)).toBeInstanceOf(InvalidJsonError);
      expect((caught as InvalidJsonError).offset, JSON.stringify(text)).toBe(offset);
      expect((caught as Error).message).toMatch(new RegExp(`^invalid JSON at offset ${offset}: `));
    }
  });
});
