// How a batch of followed changes is cut into statements (db/apply-runs.ts): in order, a run of upserts
// never holds a key twice, runs are bounded, a truncate stands alone.
import { describe, expect, it } from 'vitest';
import type { Column } from '../../src/convert/value.js';
import { changeRuns } from '../../src/db/apply-runs.js';
import type { TargetChange } from '../../src/db/writer.js';

const columns: Column[] = [
  { name: 'id', kind: 'int', dbType: 'bigint', nullable: false },
  { name: 'v', kind: 'text', dbType: 'text', nullable: true },
];
const up = (id: string, v: string): TargetChange => ({ op: 'upsert', row: [id, v] });
const del = (id: string): TargetChange => ({ op: 'delete', key: [id] });

describe('changeRuns', () => {
  it('keeps the order, and starts a new run of upserts where a key comes again', () => {
    const runs = changeRuns(
      [
        up('1', 'a'),
        up('2', 'b'),
        up('1', 'c'),
        del('2'),
        del('2'),
        up('2', 'd'),
        { op: 'truncate' },
        up('3', 'e'),
      ],
      columns,
      [0],
    );
    expect(runs).toEqual([
      {
        op: 'upsert',
        rows: [
          ['1', 'a'],
          ['2', 'b'],
        ],
      },
      { op: 'upsert', rows: [['1', 'c']] },
      { op: 'delete', keys: [['2'], ['2']] },
      { op: 'upsert', rows: [['2', 'd']] },
      { op: 'truncate' },
      { op: 'upsert', rows: [['3', 'e']] },
    ]);
  });

  it('tells keys apart by their canonical form, and bounds every run', () => {
    const runs = changeRuns([up('01', 'a'), up('1', 'b'), del('5'), del('6'), del('7')], columns, [0], 2);
    // '01' and '1' are the same integer key: the second upsert must not share the first one's statement.
    expect(
      runs.map((r) => (r.op === 'upsert' ? r.rows.length : r.op === 'delete' ? r.keys.length : 0)),
    ).toEqual([1, 1, 2, 1]);
  });
});
