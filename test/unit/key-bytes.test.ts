// Cache keys written as bytes straight from COPY text (key-template.ts compileKeyBytes) must be exactly the
// keys the string renderer makes from the decoded row; where they cannot be (a NULL, digits not in canonical
// form, a key too long), the string renderer decides. Packs are compared byte for byte, with and without it.
import { describe, expect, it } from 'vitest';
import { compileKeyBytes, compileKeyTemplate } from '../../src/cache/key-template.js';
import type { Column, ColumnKind } from '../../src/convert/value.js';
import { rowsBatch } from '../../src/db/batch.js';
import { copyJson } from '../../src/db/postgres/copy-json.js';
import type { TableMapping } from '../../src/engine/mapping.js';
import { packCopyEntries } from '../../src/engine/warm-rows.js';

function col(name: string, kind: ColumnKind): Column {
  return { name, kind, dbType: kind, nullable: true };
}

const COLUMNS = [col('id', 'int'), col('region', 'int'), col('name', 'text')];

/** The pack of `lines` and the reasons rows were left out, with or without the byte renderer. */
function pack(template: string, prefix: string, lines: string[], bytes: boolean, longKeys: 'skip' | 'hash') {
  const text = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const renderBytes = bytes ? compileKeyBytes(template, prefix, COLUMNS) : null;
  if (bytes) expect(renderBytes).not.toBeNull();
  const m = {
    label: 't',
    key: [0],
    targetColumns: COLUMNS,
    cache: { render: compileKeyTemplate(template, prefix, COLUMNS, longKeys), renderBytes },
  } as unknown as TableMapping;
  const writer = copyJson(COLUMNS, ['id', 'region', 'name'], [0, 1]);
  const batch = { ...rowsBatch([]), count: lines.length, copyText: { text, types: '' } };
  const skipped: string[] = [];
  const packed = packCopyEntries(m, batch, writer, 400, 60, { add: (reason) => skipped.push(reason) });
  return { bytes: Buffer.from(packed.bytes).toString('hex'), count: packed.count, skipped };
}

describe('cache keys from COPY text', () => {
  it("gives the string renderer's keys byte for byte, and leaves it every other case", () => {
    const ints = ['0', '7', '-7', '42', '9223372036854775807', '-9223372036854775808'];
    // Integers not in canonical form (which the string renderer makes canonical), a NULL, more digits than fit.
    const odd = ['-0', '007', '-007', '+5', '00', '\\N', '12345678901234567890123'];
    const lines: string[] = [];
    for (const a of [...ints, ...odd]) for (const b of ['3', '-0', '\\N']) lines.push(`${a}\t${b}\tx`);
    for (let i = 0; i < 500; i++) lines.push(`${((i * 7919) % 100003) - 50000}\t${i % 13}\tn${i}`);
    lines.push(`5\t6\t${'y'.repeat(500)}`); // a value over maxValueBytes
    const templates = ['order:{id}', '{id}/{region}:{id}', 'r{region}', 'u:{id}:v'];
    for (const template of templates) {
      // A prefix that leaves a key just under, at and over 250 bytes.
      for (const prefix of ['app:', 'p'.repeat(222), 'p'.repeat(236)]) {
        for (const longKeys of ['skip', 'hash'] as const) {
          const viaBytes = pack(template, prefix, lines, true, longKeys);
          const viaStrings = pack(template, prefix, lines, false, longKeys);
          expect(viaBytes, `${template} ${prefix.length} ${longKeys}`).toEqual(viaStrings);
        }
      }
    }
    // The cases above did take both paths.
    expect(pack('order:{id}', 'app:', lines, false, 'skip').skipped).toContain('key-has-null');
    expect(pack('order:{id}', 'app:', lines, false, 'skip').skipped).toContain('value-too-large');
    expect(pack('{id}/{region}:{id}', 'p'.repeat(222), lines, false, 'skip').skipped).toContain(
      'key-too-long',
    );
  });

  it('only for integer placeholders and fixed text memcached takes', () => {
    expect(compileKeyBytes('u:{name}', 'app:', COLUMNS)).toBeNull();
    expect(compileKeyBytes('u:{id}:{name}', 'app:', COLUMNS)).toBeNull();
    expect(compileKeyBytes('u {id}', 'app:', COLUMNS)).toBeNull();
    expect(compileKeyBytes('u:{id}', 'my app:', COLUMNS)).toBeNull();
    expect(compileKeyBytes('constant', 'app:', COLUMNS)).toBeNull();
    expect(compileKeyBytes('u:{id}', 'app:', COLUMNS)?.maxBytes).toBe('app:u:'.length + 21);
  });
});
