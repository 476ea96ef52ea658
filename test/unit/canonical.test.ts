import { describe, expect, it } from 'vitest';
import { CanonicalValueError, canonicalizer } from '../../src/convert/canonical.js';
import { type ColumnKind, columnKinds, type Value } from '../../src/convert/value.js';

function table(kind: ColumnKind, cases: [Value, string | null][]): void {
  const canon = canonicalizer(kind);
  for (const [input, output] of cases) expect(canon(input), `${kind} ${String(input)}`).toBe(output);
}

describe('canonicalizer', () => {
  it('returns null for NULL of every kind', () => {
    for (const kind of columnKinds) expect(canonicalizer(kind)(null)).toBeNull();
  });

  it('returns one precompiled function per kind', () => {
    expect(canonicalizer('int')).toBe(canonicalizer('int'));
    expect(canonicalizer('int')).not.toBe(canonicalizer('decimal'));
  });

  it('int: digits without `+`, leading zeros or negative zero, exactly', () => {
    table('int', [
      ['0', '0'],
      ['-0', '0'],
      ['+0', '0'],
      ['000', '0'],
      ['42', '42'],
      ['+42', '42'],
      ['0042', '42'],
      ['-0042', '-42'],
      ['-9223372036854775808', '-9223372036854775808'],
      ['18446744073709551615', '18446744073709551615'],
      ['9007199254740993', '9007199254740993'],
      ['123456789012345678901234567890', '123456789012345678901234567890'],
    ]);
  });

  it('int: rejects non-digits and non-strings', () => {
    const canon = canonicalizer('int');
    for (const bad of ['', '-', '+', '1.0', '1e3', ' 1', '1 ', '0x10', '１']) {
      expect(() => canon(bad), bad).toThrow(CanonicalValueError);
    }
    expect(() => canon(5)).toThrow(TypeError);
    expect(() => canon(5)).toThrow(/invalid int value: expected a string of decimal digits, got number 5/);
  });

  it('decimal: exact normalised text', () => {
    table('decimal', [
      ['12.50', '12.5'],
      ['12.00', '12'],
      ['12.', '12'],
      ['-0.00', '0'],
      ['0.00', '0'],
      ['+0', '0'],
      ['-0', '0'],
      ['.5', '0.5'],
      ['-.50', '-0.5'],
      ['0.05', '0.05'],
      ['007.100', '7.1'],
      ['-000123.4500', '-123.45'],
      ['+3.10', '3.1'],
      ['1000', '1000'],
      ['100.000', '100'],
      ['NaN', 'NaN'],
      ['Infinity', 'Infinity'],
      ['-Infinity', '-Infinity'],
      // DECIMAL(65,30) and beyond: never through a JS number
      [
        '12345678901234567890123456789012345.123456789012345678901234567890',
        '12345678901234567890123456789012345.12345678901234567890123456789',
      ],
      ['0.000000000000000000000000000001', '0.000000000000000000000000000001'],
      // exponent inputs are accepted and expanded
      ['1e3', '1000'],
      ['1.5E-3', '0.0015'],
      ['-12.5e1', '-125'],
      ['1e100', '1' + '0'.repeat(100)],
    ]);
  });

  it('decimal: rejects what is not a decimal', () => {
    const canon = canonicalizer('decimal');
    for (const bad of ['', '.', '-', '1.2.3', '1,5', 'nan', 'inf', '1e', ' 1', '12a']) {
      expect(() => canon(bad), bad).toThrow(/invalid decimal value/);
    }
    expect(() => canon(12.5)).toThrow(TypeError);
  });

  it('float: shortest round-trip text', () => {
    table('float', [
      [0, '0'],
      [-0, '0'],
      [0.1, '0.1'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1.100000023841858, '1.100000023841858'], // float4 1.1 widened
      [-2.5, '-2.5'],
      [1e21, '1e+21'],
      [5e-324, '5e-324'],
      [Number.MAX_VALUE, '1.7976931348623157e+308'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
      ['NaN', 'NaN'],
      ['Infinity', 'Infinity'],
      ['-Infinity', '-Infinity'],
    ]);
    expect(() => canonicalizer('float')('1.5')).toThrow(/invalid float value/);
    expect(() => canonicalizer('float')(true)).toThrow(TypeError);
  });

  it('bool: true/false, booleans only', () => {
    table('bool', [
      [true, 'true'],
      [false, 'false'],
    ]);
    expect(() => canonicalizer('bool')(1)).toThrow(/invalid bool value: expected a boolean, got number 1/);
    expect(() => canonicalizer('bool')('true')).toThrow(TypeError);
  });

  it('text: exactly as is, including the empty string, unicode and controls', () => {
    table('text', [
      ['', ''],
      ['null', 'null'],
      ['  padded  ', '  padded  '],
      ['e\u0301 é 😀 👨‍👩‍👧', 'e\u0301 é 😀 👨‍👩‍👧'],
      ['\u0000\u0001\t\n\r\u007f', '\u0000\u0001\t\n\r\u007f'],
    ]);
    expect(() => canonicalizer('text')(Buffer.from('x'))).toThrow(
      /invalid text value: expected a string, got Buffer\(1\)/,
    );
  });

  it('bytes: lowercase hex of all 256 values', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const hex = canonicalizer('bytes')(all)!;
    expect(hex).toHaveLength(512);
    expect(hex.slice(0, 8)).toBe('00010203');
    expect(hex.slice(-8)).toBe('fcfdfeff');
    expect(Buffer.from(hex, 'hex').equals(all)).toBe(true);
    expect(canonicalizer('bytes')(Buffer.alloc(0))).toBe('');
    expect(canonicalizer('bytes')(new Uint8Array([0xab, 0xcd]) as Buffer)).toBe('abcd');
    expect(() => canonicalizer('bytes')('abcd')).toThrow(/invalid bytes value: expected a Buffer/);
  });

  it('date: as is', () => {
    table('date', [
      ['2024-02-29', '2024-02-29'],
      ['infinity', 'infinity'],
      ['0044-03-15 BC', '0044-03-15 BC'],
    ]);
  });

  it('time: fraction without trailing zeros', () => {
    table('time', [
      ['12:34:56', '12:34:56'],
      ['12:34:56.000000', '12:34:56'],
      ['12:34:56.500000', '12:34:56.5'],
      ['12:34:56.000001', '12:34:56.000001'],
      ['12:34:56.123450', '12:34:56.12345'],
      ['24:00:00', '24:00:00'],
      ['-838:59:59.000000', '-838:59:59'],
    ]);
  });

  it('timestamp: T separator, fraction trimmed, no zone', () => {
    table('timestamp', [
      ['2024-03-15 12:34:56', '2024-03-15T12:34:56'],
      ['2024-03-15T12:34:56', '2024-03-15T12:34:56'],
      ['2024-03-15 12:34:56.000000', '2024-03-15T12:34:56'],
      ['2024-03-15 12:34:56.123400', '2024-03-15T12:34:56.1234'],
      ['2024-03-15 12:34:56.000001', '2024-03-15T12:34:56.000001'],
      ['10000-01-01 00:00:00', '10000-01-01T00:00:00'],
      ['0044-03-15 12:00:00 BC', '0044-03-15T12:00:00 BC'],
      ['infinity', 'infinity'],
      ['-infinity', '-infinity'],
    ]);
  });

  it('timestamptz: UTC suffixes dropped, Z added', () => {
    table('timestamptz', [
      ['2024-03-15 12:34:56', '2024-03-15T12:34:56Z'],
      ['2024-03-15 12:34:56+00', '2024-03-15T12:34:56Z'],
      ['2024-03-15 12:34:56+00:00', '2024-03-15T12:34:56Z'],
      ['2024-03-15T12:34:56Z', '2024-03-15T12:34:56Z'],
      ['2024-03-15 12:34:56.123400+00', '2024-03-15T12:34:56.1234Z'],
      ['2024-03-15 12:34:56.000000-00', '2024-03-15T12:34:56Z'],
      ['infinity', 'infinity'],
      ['-infinity', '-infinity'],
    ]);
  });

  it('timestamptz: non-zero offsets converted to UTC exactly, microseconds kept', () => {
    table('timestamptz', [
      ['2024-03-15 18:04:56.123456+05:30', '2024-03-15T12:34:56.123456Z'],
      ['2024-03-15 04:34:56.000001-08', '2024-03-15T12:34:56.000001Z'],
      ['2024-03-15 04:34:56.000001-0800', '2024-03-15T12:34:56.000001Z'],
      // across midnight, both ways
      ['2024-03-15 02:00:00+05:30', '2024-03-14T20:30:00Z'],
      ['2024-03-15 20:00:00.5-08', '2024-03-16T04:00:00.5Z'],
      // across year boundaries, both ways
      ['2023-12-31 20:00:00.000001-08', '2024-01-01T04:00:00.000001Z'],
      ['2024-01-01 01:00:00.999999+05:30', '2023-12-31T19:30:00.999999Z'],
      // leap days
      ['2024-02-28 23:30:00-01', '2024-02-29T00:30:00Z'],
      ['2023-02-28 23:30:00-01', '2023-03-01T00:30:00Z'],
      ['2024-03-01 00:10:00+00:20', '2024-02-29T23:50:00Z'],
      ['2100-02-28 23:00:00-02', '2100-03-01T01:00:00Z'],
      ['2000-02-28 23:00:00-02', '2000-02-29T01:00:00Z'],
      // extreme offsets, offsets with seconds (PostgreSQL's LMT zones)
      ['2024-06-30 23:59:59+14', '2024-06-30T09:59:59Z'],
      ['2024-06-30 00:00:00-12', '2024-06-30T12:00:00Z'],
      ['1900-01-01 00:09:21+00:09:21', '1900-01-01T00:00:00Z'],
      // PostgreSQL BC years
      ['0001-01-01 00:30:00+01', '0001-12-31T23:30:00Z BC'],
      ['0001-12-31 23:30:00-01 BC', '0001-01-01T00:30:00Z'],
      ['0044-03-15 12:00:00+02 BC', '0044-03-15T10:00:00Z BC'],
    ]);
  });

  it('timestamptz: rejects text that is not a timestamp', () => {
    const canon = canonicalizer('timestamptz');
    for (const bad of [
      '2024-03-15',
      '2024-03-15 12:34',
      '2024-03-15 12:34:56 UTC',
      '2024-03-15 12:34:56+5',
      'now',
    ]) {
      expect(() => canon(bad), bad).toThrow(/invalid timestamptz value/);
    }
  });

  it('json: canonical JSON; invalid JSON names the kind', () => {
    table('json', [
      ['{"b": [1, 2], "a": 1.0}', '{"a":1,"b":[1,2]}'],
      ['null', 'null'],
    ]);
    expect(() => canonicalizer('json')('{"a":')).toThrow(/invalid json value: invalid JSON at offset 5/);
    expect(() => canonicalizer('json')('{"a":')).toThrow(CanonicalValueError);
  });

  it('uuid: lowercase; other: as is', () => {
    table('uuid', [['A3BB189E-8BF9-3888-9912-ACE4E6543002', 'a3bb189e-8bf9-3888-9912-ace4e6543002']]);
    table('other', [
      ['Red,Green', 'Red,Green'],
      ['(1,2)', '(1,2)'],
    ]);
  });

  it('names the kind when the JS type is wrong', () => {
    const wrong: [ColumnKind, Value][] = [
      ['decimal', 1.5],
      ['text', 5],
      ['date', true],
      ['time', 5],
      ['timestamp', 0],
      ['timestamptz', Buffer.alloc(1)],
      ['json', false],
      ['uuid', 1],
      ['other', 1],
    ];
    for (const [kind, value] of wrong) {
      let caught: unknown;
      try {
        canonicalizer(kind)(value);
      } catch (error) {
        caught = error;
      }
      expect(caught, kind).toBeInstanceOf(TypeError);
      expect((caught as CanonicalValueError).kind).toBe(kind);
      expect((caught as Error).message).toContain(`invalid ${kind} value`);
    }
  });

  it('inColumn adds the column to the message', () => {
    const error = new CanonicalValueError('int', 'expected digits').inColumn('total');
    expect(error.message).toBe('column total: invalid int value: expected digits');
    expect(error.column).toBe('total');
  });
});
