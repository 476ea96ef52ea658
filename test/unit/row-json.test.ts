import { describe, expect, it } from 'vitest';
import { CanonicalValueError } from '../../src/convert/canonical.js';
import { columnValueEncoder, rowJsonEncoder } from '../../src/convert/row-json.js';
import type { Column, ColumnKind, Row } from '../../src/convert/value.js';
import { SchemaError } from '../../src/errors.js';

function col(name: string, kind: ColumnKind): Column {
  return { name, kind, dbType: kind, nullable: true };
}

const columns: Column[] = [
  col('id', 'int'),
  col('total', 'decimal'),
  col('rate', 'float'),
  col('paid', 'bool'),
  col('note', 'text'),
  col('blob', 'bytes'),
  col('day', 'date'),
  col('at', 'time'),
  col('local', 'timestamp'),
  col('created', 'timestamptz'),
  col('meta', 'json'),
  col('ref', 'uuid'),
  col('color', 'other'),
];

describe('rowJsonEncoder', () => {
  it('writes every kind as documented, keys in column order', () => {
    const row: Row = [
      '9007199254740993',
      '-0012.50',
      0.1,
      true,
      'say "hi"\n',
      Buffer.from([0, 0xff, 0x10]),
      '2024-02-29',
      '12:00:00.100000',
      '2024-03-15 12:34:56.000000',
      '2024-03-15 18:04:56.123456+05:30',
      '{"b": [1, 2.0], "a": null}',
      'A3BB189E-8BF9-3888-9912-ACE4E6543002',
      'red',
    ];
    const json = rowJsonEncoder(columns)(row);
    expect(json).toBe(
      '{"id":9007199254740993,"total":"-12.5","rate":0.1,"paid":true,"note":"say \\"hi\\"\\n",' +
        '"blob":"\\\\x00ff10","day":"2024-02-29","at":"12:00:00.1","local":"2024-03-15T12:34:56",' +
        '"created":"2024-03-15T12:34:56.123456Z","meta":{"a":null,"b":[1,2]},' +
        '"ref":"a3bb189e-8bf9-3888-9912-ace4e6543002","color":"red"}',
    );
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(columns.map((c) => c.name));
    expect(parsed.blob).toBe('\\x00ff10');
    expect(parsed.meta).toEqual({ a: null, b: [1, 2] });
    // the big int is exact in the text even though JSON.parse rounds it
    expect(json).toContain('"id":9007199254740993,');
  });

  it('writes NULL as null for every kind', () => {
    const json = rowJsonEncoder(columns)(columns.map(() => null));
    expect(JSON.parse(json)).toEqual(Object.fromEntries(columns.map((c) => [c.name, null])));
  });

  it('writes non-finite floats as strings', () => {
    const encode = rowJsonEncoder([col('f', 'float')]);
    expect(encode([Number.NaN])).toBe('{"f":"NaN"}');
    expect(encode([Number.NEGATIVE_INFINITY])).toBe('{"f":"-Infinity"}');
    expect(encode(['Infinity'])).toBe('{"f":"Infinity"}');
    expect(encode([-0])).toBe('{"f":0}');
    expect(encode([1e21])).toBe('{"f":1e+21}');
    expect(JSON.parse(encode([1e21]))).toEqual({ f: 1e21 });
  });

  it('depends on column order', () => {
    const a = rowJsonEncoder([col('x', 'int'), col('y', 'int')]);
    const b = rowJsonEncoder([col('y', 'int'), col('x', 'int')]);
    expect(a(['1', '2'])).toBe('{"x":1,"y":2}');
    expect(b(['2', '1'])).toBe('{"y":2,"x":1}');
    expect(a(['1', '2'])).not.toBe(b(['2', '1']));
  });

  it('keeps NULL, empty string and the text "null" apart', () => {
    const encode = rowJsonEncoder([col('t', 'text')]);
    const outputs = [encode([null]), encode(['']), encode(['null'])];
    expect(outputs).toEqual(['{"t":null}', '{"t":""}', '{"t":"null"}']);
    const bytes = rowJsonEncoder([col('b', 'bytes')]);
    expect(bytes([Buffer.alloc(0)])).toBe('{"b":"\\\\x"}');
    expect(bytes([null])).toBe('{"b":null}');
  });

  it('round-trips unicode, controls and lone surrogates in text as valid JSON', () => {
    const encode = rowJsonEncoder([col('t', 'text')]);
    const text = 'e\u0301é😀\u0000\u001f\u007f\u2028\ud800';
    const json = encode([text]);
    expect(json).toContain('\\ud800');
    expect((JSON.parse(json) as { t: string }).t).toBe(text);
    // valid UTF-8 once encoded: no U+FFFD replacement
    expect(Buffer.from(json, 'utf8').toString('utf8')).toBe(json);
  });

  it('escapes column names', () => {
    expect(rowJsonEncoder([col('a "b"', 'int')])(['1'])).toBe('{"a \\"b\\"":1}');
    expect(rowJsonEncoder([])([])).toBe('{}');
  });

  it('names the column of a bad value and checks the row length', () => {
    const encode = rowJsonEncoder([col('id', 'int'), col('total', 'decimal')]);
    expect(() => encode(['1', 12.5])).toThrow(CanonicalValueError);
    expect(() => encode(['1', 12.5])).toThrow(/^column total: invalid decimal value/);
    expect(() => encode(['1'])).toThrow(/row has 1 values but the column list has 2 columns/);
    expect(() => rowJsonEncoder([col('a', 'int'), col('a', 'text')])).toThrow(SchemaError);
  });
});

describe('columnValueEncoder', () => {
  it('gives the canonical text as UTF-8 bytes', () => {
    expect(columnValueEncoder(col('n', 'int'))('+007')?.toString()).toBe('7');
    expect(columnValueEncoder(col('d', 'decimal'))('12.50')?.toString()).toBe('12.5');
    expect(columnValueEncoder(col('f', 'float'))(0.5)?.toString()).toBe('0.5');
    expect(columnValueEncoder(col('b', 'bool'))(false)?.toString()).toBe('false');
    expect(columnValueEncoder(col('t', 'text'))('é😀')?.equals(Buffer.from('é😀'))).toBe(true);
    expect(columnValueEncoder(col('t', 'text'))('')?.length).toBe(0);
    expect(columnValueEncoder(col('j', 'json'))('{"b": 1, "a": 2}')?.toString()).toBe('{"a":2,"b":1}');
    expect(columnValueEncoder(col('c', 'timestamptz'))('2024-01-01 00:00:00+00')?.toString()).toBe(
      '2024-01-01T00:00:00Z',
    );
  });

  it('gives bytes as the raw bytes', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const encoded = columnValueEncoder(col('b', 'bytes'))(all);
    expect(encoded?.equals(all)).toBe(true);
    expect(columnValueEncoder(col('b', 'bytes'))(new Uint8Array([1, 2]) as Buffer)).toEqual(
      Buffer.from([1, 2]),
    );
  });

  it('returns null for NULL: the row is skipped for the cache', () => {
    expect(columnValueEncoder(col('t', 'text'))(null)).toBeNull();
    expect(columnValueEncoder(col('b', 'bytes'))(null)).toBeNull();
  });

  it('names the column of a bad value', () => {
    expect(() => columnValueEncoder(col('n', 'int'))(5)).toThrow(/^column n: invalid int value/);
    expect(() => columnValueEncoder(col('b', 'bytes'))('00')).toThrow(/^column b: invalid bytes value/);
  });
});
