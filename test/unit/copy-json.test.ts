// Row JSON written straight from COPY text (db/postgres/copy-json.ts) must be byte for byte what the decode
// path gives: the row decoded as the reader decodes it, then row-json's encoder. Every fast path is tried at
// its edges (and just past them, where the slow path must take over), and random rows are compared in bulk.
import { describe, expect, it } from 'vitest';
import { EntryPackBuilder, unpackEntries } from '../../src/cache/entry-pack.js';
import { rowJsonEncoder } from '../../src/convert/row-json.js';
import type { Column, ColumnKind } from '../../src/convert/value.js';
import { copyJson } from '../../src/db/postgres/copy-json.js';
import { decodeCopyText, rowDecoder } from '../../src/db/postgres/read.js';

function col(name: string, kind: ColumnKind): Column {
  return { name, kind, dbType: kind, nullable: true };
}

/** The JSON of each line, both ways. */
function both(columns: Column[], lines: (string | Buffer)[]) {
  const text = Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from('\n')])));
  const expected = decodeCopyText(text, columns.length, rowDecoder(columns)).map(rowJsonEncoder(columns));
  const writer = copyJson(
    columns,
    columns.map((c) => c.name),
    [],
  );
  const got: string[] = [];
  writer.lines(text, (start, end) => {
    const out = Buffer.alloc(writer.maxBytes(end - start));
    const at = writer.writeJson(text, start, end, out, 0);
    expect(at).toBeGreaterThan(0);
    got.push(out.toString('utf8', 0, at));
  });
  return { got, expected };
}

function same(kind: ColumnKind, fields: (string | Buffer)[]): void {
  const columns = [col('v', kind), col('after', 'int')];
  const lines = fields.map((f) => Buffer.concat([Buffer.from(f), Buffer.from('\t7')]));
  const { got, expected } = both(columns, lines);
  expect(got).toEqual(expected);
}

describe('row JSON from COPY text', () => {
  it('ints: canonical digits as they are, anything else as the decoder reads it', () => {
    same('int', ['0', '-1', '42', '-9223372036854775808', '18446744073709551615', '\\N']);
  });

  it('decimals: trailing fractional zeros and a bare point dropped, -0 is 0', () => {
    same('decimal', ['0', '0.00', '-0.00', '12.50', '-12.50', '100', '100.000', '0.000100', '-0.5', '\\N']);
    same('decimal', ['NaN', 'Infinity', '-Infinity', '1e5', '007.10', '.5']);
  });

  it('booleans', () => {
    same('bool', ['t', 'f', '\\N']);
  });

  it('text: COPY escapes undone, JSON escapes as JSON.stringify, UTF-8 copied', () => {
    same('text', [
      '',
      'plain',
      'tab\\there\\nnew\\rret\\\\back\\bb\\ff\\vv',
      'say "hi"',
      'Müller ☃ 😀',
      Buffer.from([0x61, 0x01, 0x1f, 0x7f, 0x62]), // raw controls and DEL
      '\\\\N',
      'a\\101b\\x41c\\qd', // octal, hex and a plain escaped letter: the slow path
      Buffer.from([0x61, 0xc3, 0x28, 0x62]), // invalid UTF-8
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
      Buffer.from([0xe0, 0x80, 0x80]), // overlong
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
      Buffer.from([0xe2, 0x82]), // cut short
      '\u2028 \u2029',
      '\\N',
    ]);
    same('date', ['2024-02-29', '0044-03-15 BC', 'infinity']);
    same('other', ['{1,2,"a b"}', '(1,\\\\x)']);
  });

  it('uuids: lowercase as is; capitals go through the canonical lowercase', () => {
    same('uuid', ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']);
  });

  it('timestamps: T for the space, fraction without trailing zeros, Z for +00', () => {
    const forms = [
      '2024-01-02 03:04:05',
      '2024-01-02 03:04:05.5',
      '2024-01-02 03:04:05.120000',
      '2024-01-02 03:04:05.000000',
      '0001-01-01 00:00:00',
    ];
    same('timestamp', [...forms, '2024-01-02 03:04:05 BC', 'infinity', '-infinity', '10000-01-01 00:00:00']);
    same('timestamptz', [
      ...forms.map((f) => `${f}+00`),
      '2024-01-02 03:04:05+05:30',
      '2024-01-02 03:04:05.25-08',
      '2024-01-02 03:04:05+00 BC',
      'infinity',
      '12345-06-07 08:09:10+00',
    ]);
  });

  it('jsonb as PostgreSQL prints it: spaces dropped, keys sorted, numbers trimmed; other forms through the decoder', () => {
    const columns: Column[] = [
      { name: 'j', kind: 'json', dbType: 'jsonb', nullable: true },
      col('after', 'int'),
    ];
    const jsonb = (fields: string[]) => {
      const { got, expected } = both(
        columns,
        fields.map((f) => `${f}\t7`),
      );
      expect(got).toEqual(expected);
    };
    jsonb([
      '{"a": 1, "b": [1, 2.50, -0.0, 100, 0.000], "c": {"y": null, "x": "é \\\\"q\\\\" \\\\\\\\ \\\\n"}}',
      '{"bb": true, "a": false, "aa": {"z": [], "y": {}}, "b": "x"}', // jsonb's key order, not code unit order
      '[1, "two", [3, [4, {"k": "v"}]], null]',
      '{"ab": 1, "a": 2, "abc": 3, "B": 4, "_": 5}',
      '"text"',
      '12.3400',
      '-0.5',
      '{}',
      '[]',
      '{"k": "\\\\u0001\\\\u001f\\\\u0000"}',
      // Not in jsonb's output form: the slow path decides.
      '{"b":1,"a":2}',
      '{"a": "\\\\u00e9", "b": "\\\\/", "c": "\\\\u0009", "d": "\\\\u001F"}',
      '{"é": 1, "e": 2}',
      '{"a\\\\"b": 1, "a#": 2}',
      '{"a": 1e5, "b": 1E-2}',
      `{"n": 1${'0'.repeat(60)}}`,
      `{"n": 0.${'0'.repeat(55)}1}`,
      '{"a": 1, "a": 2}',
      `${'{"k": ['.repeat(40)}1${']}'.repeat(40)}`, // deeper than the fast path goes
      `${'['.repeat(60)}{"b": 1, "a": 2}${']'.repeat(60)}`,
      '\\N',
    ]);
    // Not JSON at all: the decoder's error, both ways.
    for (const bad of [
      '[1, 2',
      '{"a": [1, 2}',
      '{"a" 1}',
      'nul',
      '"unterminated',
      '{"a": 1,}',
      '{"a": 00.5}',
    ]) {
      const text = Buffer.from(`${bad}\t7\n`);
      const writer = copyJson(columns, ['j', 'after'], []);
      expect(() => writer.writeJson(text, 0, text.length - 1, Buffer.alloc(200), 0)).toThrow(/invalid JSON/);
    }
  });

  it('json, floats, bytes and times through the decoder', () => {
    same('json', ['{"b": [1, 2.50], "a": {"y": null, "x": "\\\\u00e9"}}', '[]', '1e5', '"s"']);
    same('float', ['0.1', '-0', '1e+300', 'NaN', '-Infinity', '3.4028235e+38']);
    same('bytes', ['\\\\x', '\\\\x00ff5c']);
    same('time', ['03:04:05', '03:04:05.120']);
  });

  it('random rows of every kind agree', () => {
    const kinds: ColumnKind[] = [
      'int',
      'decimal',
      'bool',
      'text',
      'uuid',
      'timestamp',
      'timestamptz',
      'json',
    ];
    const columns = kinds.map((k, i) => ({ ...col(`c${i} "${k}"`, k), dbType: k === 'json' ? 'jsonb' : k }));
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = ['a', 'é', '\\t', '\\\\', '"', '\\n', '😀', ' ', '\u0001', 'Z'];
    const field = (k: ColumnKind): string => {
      if (rand(10) === 0) return '\\N';
      switch (k) {
        case 'int':
          return String(rand(2) ? -rand(1e9) : rand(1e9));
        case 'decimal':
          return `${rand(2) ? '-' : ''}${rand(1000)}.${String(rand(100)).padStart(2, '0')}`;
        case 'bool':
          return rand(2) ? 't' : 'f';
        case 'uuid':
          return 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
        case 'timestamp':
        case 'timestamptz': {
          const f = rand(3) === 0 ? '' : `.${String(rand(1e6)).padStart(6, '0')}`;
          return `20${String(rand(100)).padStart(2, '0')}-0${1 + rand(9)}-1${rand(10)} 0${rand(10)}:1${rand(10)}:2${rand(10)}${f}${k === 'timestamptz' ? '+00' : ''}`;
        }
        case 'json':
          return `{"k${rand(5)}": ${rand(100)}.${rand(3) * 5}0, "a": "x\\\\ty", "k": [${rand(9)}, {"zz": null, "z": "é"}]}`;
        default:
          return Array.from({ length: rand(12) }, () => pieces[rand(pieces.length)]).join('');
      }
    };
    const lines = Array.from({ length: 2000 }, () => kinds.map(field).join('\t'));
    const { got, expected } = both(columns, lines);
    expect(got).toEqual(expected);
  });

  it('asks for more room when a slow-path field outgrows the estimate, and decodes the key columns', () => {
    const columns = [col('id', 'int'), col('j', 'json')];
    const writer = copyJson(columns, ['id', 'j'], [0]);
    const text = Buffer.from('7\t1e40\n');
    const small = Buffer.alloc(writer.maxBytes(text.length - 1));
    expect(writer.writeJson(text, 0, text.length - 1, small, 0)).toBe(-1);
    const keys: unknown[] = [];
    const b = new EntryPackBuilder(16);
    writer.lines(text, (start, end) => {
      const row = writer.keyRow();
      keys.push(row[0]);
      let room = writer.maxBytes(end - start);
      let at = b.begin(`k${row[0]}`, 60, room);
      let valueEnd = writer.writeJson(text, start, end, b.buffer, at);
      while (valueEnd < 0) {
        room *= 2;
        at = b.begin(`k${row[0]}`, 60, room);
        valueEnd = writer.writeJson(text, start, end, b.buffer, at);
      }
      b.commit(valueEnd);
    });
    expect(keys).toEqual(['7']);
    const [entry] = unpackEntries(b.finish());
    expect(entry!.key).toBe('k7');
    expect(entry!.value.toString()).toBe(`{"id":7,"j":1${'0'.repeat(40)}}`);
  });

  it('reports a line with the wrong field count', () => {
    const writer = copyJson([col('a', 'int'), col('b', 'int')], ['a', 'b'], []);
    const text = Buffer.from('1\t2\t3\n');
    expect(() => writer.writeJson(text, 0, 5, Buffer.alloc(100), 0)).toThrow(/field count other than 2/);
  });
});
