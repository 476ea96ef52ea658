/**
 * A converted value is the value the target column will hold and return, so the per-batch check, verify and
 * the cache compare like with like: CHAR padding as each database stores it, single precision as float32
 * values (never as decimal text), and a value the target cannot hold unchanged refused, not rounded.
 */
import { describe, expect, it } from 'vitest';
import { converterFor, ValueError } from '../../src/convert/convert.js';
import type { Column, ColumnKind } from '../../src/convert/value.js';
import { decoderFor } from '../../src/db/postgres/codec.js';

const col = (kind: ColumnKind, dbType: string): Column => ({ name: 'c', kind, dbType, nullable: true });

describe('CHAR(n) targets get the value as the target returns it', () => {
  it('PostgreSQL character(n): padded to n characters, trailing spaces beyond n dropped as PostgreSQL does', () => {
    const to = converterFor(col('text', 'char(10)'), col('text', 'character(10)'), { target: 'postgres' })!;
    expect(to('ab')).toBe('ab        ');
    expect(to('ab   ')).toBe('ab        ');
    expect(to('')).toBe('          ');
    expect(to('ab' + ' '.repeat(12))).toBe('ab        ');
    expect(to('é😀')).toBe('é😀        ');
    expect(to(null)).toBeNull();
    expect(() => to('abcdefghijk')).toThrow(ValueError);
    // A character without a length is char(1); `bpchar` without one keeps the value as written.
    expect(converterFor(col('text', 'text'), col('text', 'character'), { target: 'postgres' })!('')).toBe(
      ' ',
    );
    expect(converterFor(col('text', 'text'), col('text', 'bpchar'), { target: 'postgres' })!('a  ')).toBe(
      'a  ',
    );
  });

  it('MySQL char(n): trailing spaces stripped, as MySQL returns it; other characters kept', () => {
    const to = converterFor(col('text', 'character(10)'), col('text', 'char(10)'), { target: 'mysql' })!;
    expect(to('ab        ')).toBe('ab');
    expect(to('  ab\t ')).toBe('  ab\t');
    expect(to('          ')).toBe('');
    expect(() => to('abcdefghijk ')).toThrow(ValueError);
  });

  it('varchar and text keep trailing spaces (they are part of the value there)', () => {
    expect(
      converterFor(col('text', 'char(4)'), col('text', 'varchar(10)'), { target: 'mysql' })!('a  '),
    ).toBe('a  ');
    expect(converterFor(col('text', 'char(4)'), col('text', 'text'), { target: 'postgres' })!('a   ')).toBe(
      'a   ',
    );
  });
});

describe('single precision', () => {
  it('a PostgreSQL real reads back as its float32, whichever shortest decimal PostgreSQL printed', () => {
    const real = decoderFor(col('float', 'real'));
    // MySQL prints the float32 41210448 as 41210448; PostgreSQL prints it as 4.121045e+07.
    expect(real('4.121045e+07')).toBe(41210448);
    expect(real('2880656.2')).toBe(2880656.25);
    expect(real('NaN')).toBe('NaN');
    expect(decoderFor(col('float', 'double precision'))('4.121045e+07')).toBe(41210450);
  });

  it('a float32 goes into real/FLOAT as that value; another double is an error, never rounded', () => {
    for (const [target, type] of [
      ['postgres', 'real'],
      ['mysql', 'float'],
    ] as const) {
      const to = converterFor(col('float', 'double'), col('float', type), { target })!;
      expect(to(41210448)).toBe(41210448);
      expect(to(2880656.25)).toBe(2880656.25);
      expect(to(-0)).toBe(-0);
      expect(() => to(0.1)).toThrow(/not a single-precision value/);
      expect(() => to(1e300)).toThrow(ValueError);
    }
  });
});
