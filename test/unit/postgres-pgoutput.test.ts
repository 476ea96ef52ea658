// The pgoutput decoder and the translation into ChangeEvents, on messages built here as the protocol
// documents them: transactions at or before `from` skipped (those after delivered, even when the commit
// record starts exactly at `from`), old keys and old rows of updates and deletes, TOAST-unchanged values.
import { describe, expect, it } from 'vitest';
import type { Column } from '../../src/convert/value.js';
import { type ChangeEvent, UNCHANGED } from '../../src/db/changes.js';
import { ChangeTranslator, typeKey } from '../../src/db/postgres/changes/events.js';
import { formatLsn, parseLsn } from '../../src/db/postgres/changes/lsn.js';
import { PgoutputDecoder } from '../../src/db/postgres/changes/pgoutput.js';

const INT4 = 23;
const TEXT = 25;

const int16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const int64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
const str = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0])]);
const msg = (tag: string, ...parts: Buffer[]) => Buffer.concat([Buffer.from(tag), ...parts]);

/** A tuple: strings as text values, null as NULL, 'u' for unchanged TOAST. */
function tuple(values: (string | null | typeof UNCHANGED)[]): Buffer {
  return Buffer.concat([
    int16(values.length),
    ...values.map((v) => {
      if (v === null) return Buffer.from('n');
      if (v === UNCHANGED) return Buffer.from('u');
      const bytes = Buffer.from(v);
      return Buffer.concat([Buffer.from('t'), int32(bytes.length), bytes]);
    }),
  ]);
}

const OID = 16400;
const relation = msg(
  'R',
  int32(OID),
  str('public'),
  str('k'),
  Buffer.from('d'),
  int16(3),
  ...[
    [1, 'id', INT4],
    [0, 'v', TEXT],
    [0, 'big', TEXT],
  ].flatMap(([flags, name, type]) => [
    Buffer.from([flags as number]),
    str(name as string),
    int32(type as number),
    int32(-1),
  ]),
);
const begin = (final: bigint) => msg('B', int64(final), int64(0n), int32(7));
const commit = (at: bigint, end: bigint) => msg('C', Buffer.from([0]), int64(at), int64(end), int64(0n));
const insert = (values: (string | null)[]) => msg('I', int32(OID), Buffer.from('N'), tuple(values));

const columns: Column[] = [
  { name: 'id', kind: 'int', dbType: 'integer', nullable: false },
  { name: 'v', kind: 'text', dbType: 'text', nullable: true },
  { name: 'big', kind: 'text', dbType: 'text', nullable: true },
];
const types = new Map([
  [typeKey(INT4, -1), 'integer'],
  [typeKey(TEXT, -1), 'text'],
]);

function translate(from: bigint, messages: Buffer[]): ChangeEvent[] {
  const decoder = new PgoutputDecoder();
  const t = new ChangeTranslator(
    [{ index: 0, oid: OID, schema: 'public', name: 'k', columns, key: [0] }],
    from,
    types,
  );
  return messages.flatMap((m) => t.translate(decoder.decode(m)) ?? []);
}

describe('pgoutput translation', () => {
  it('skips transactions whose commit ends at or before `from`, delivers the rest', () => {
    const from = 0x1_0000_0100n;
    const events = translate(from, [
      relation,
      begin(from - 0x30n),
      insert(['1', 'a', null]),
      commit(from - 0x30n, from), // ends exactly at `from`: skipped
      begin(from),
      insert(['2', 'b', null]),
      commit(from, from + 0x30n), // its commit record starts at `from`: delivered
    ]);
    expect(events).toEqual([
      { kind: 'begin' },
      { kind: 'row', table: 0, op: 'insert', key: ['2'], row: ['2', 'b', null] },
      { kind: 'commit', position: '1/130' },
    ]);
  });

  it('takes the old key from K, the old row and unchanged TOAST values from O', () => {
    const events = translate(0n, [
      relation,
      begin(0x100n),
      // A key change under REPLICA IDENTITY DEFAULT: K holds only the key.
      msg(
        'U',
        int32(OID),
        Buffer.from('K'),
        tuple(['1', null, null]),
        Buffer.from('N'),
        tuple(['10', 'x', UNCHANGED]),
      ),
      // REPLICA IDENTITY FULL: O holds the whole old row, the TOASTed value among it.
      msg(
        'U',
        int32(OID),
        Buffer.from('O'),
        tuple(['10', 'x', 'long']),
        Buffer.from('N'),
        tuple(['10', 'y', UNCHANGED]),
      ),
      msg('U', int32(OID), Buffer.from('N'), tuple(['10', 'z', null])),
      msg('D', int32(OID), Buffer.from('K'), tuple(['10', null, null])),
      msg('T', int32(1), Buffer.from([0]), int32(OID)),
      commit(0x100n, 0x200n),
    ]);
    expect(events.slice(1, -1)).toEqual([
      { kind: 'row', table: 0, op: 'update', key: ['1'], row: ['10', 'x', UNCHANGED] },
      { kind: 'row', table: 0, op: 'update', key: ['10'], row: ['10', 'y', 'long'] },
      { kind: 'row', table: 0, op: 'update', key: ['10'], row: ['10', 'z', null] },
      { kind: 'row', table: 0, op: 'delete', key: ['10'] },
      { kind: 'truncate', tables: [0] },
    ]);
  });

  it('prints and parses LSNs as PostgreSQL does, beyond 2^53', () => {
    expect(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF'))).toBe('FFFFFFFF/FFFFFFFF');
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(2n ** 64n - 1n);
    expect(formatLsn(0x16_b374_d848n)).toBe('16/B374D848');
    expect(() => parseLsn('16-B3')).toThrow(/not a PostgreSQL WAL position/);
  });
});
