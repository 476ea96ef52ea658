// The differential type matrix (issue 19): for every pairing and every source type of src/db/type-map.ts, a
// wide table of edge and seeded random values is copied by the built CLI, both with `createTables: true` and
// into a hand-made table of common alternative types, and checked with the test's own comparison
// (test/helpers/matrix/normalize.ts: plain SQL text reads, explicit per-type rules; never the tool's code):
// (a) exact copies exit 0 with 0 mismatches, in `run` and in `migrate verify`;
// (b) after k seeded target cells and k cache entries are spoilt, `migrate verify` reports exactly those keys;
// (c) lossy pairs (float8 → real, timestamp(6) → (3), a string over varchar(n), a numeric scale cut) fail
//     naming table, key and column, or with `invalid: skip` are counted rejections — never a silent change.
// Plus the issue's three "must show" cases as named tests. The matrix size and run time are printed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type ColumnSpec,
  type Dialect,
  SOURCES,
  type SourceSpec,
  SPECIAL_ID,
  sourceRows,
} from '../helpers/matrix/columns.js';
import {
  cli,
  corruptCache,
  corruptTarget,
  describeStep,
  diffRows,
  matrixPlan,
  type Report,
  rejects,
  reportSet,
  showDiffs,
} from '../helpers/matrix/flow.js';
import { mysqlSide, pgSide, type Side, sqliteSide } from '../helpers/matrix/sides.js';
import { seeded } from '../helpers/random.js';
import { scopedDatabases } from '../helpers/scoped-databases.js';

const { pgDb, mysqlDb } = scopedDatabases();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const PAIRINGS: [Dialect, Dialect][] = [
  ['postgres', 'postgres'],
  ['postgres', 'mysql'],
  ['mysql', 'postgres'],
  ['mysql', 'mysql'],
  ['sqlite', 'postgres'],
  ['sqlite', 'mysql'],
  ['sqlite', 'sqlite'],
];
const SHORT: Record<Dialect, string> = { postgres: 'pg', mysql: 'mysql', sqlite: 'sqlite' };
/** Target cells and cache entries spoilt per copy. */
const K = 3;

const stats = { started: Date.now(), pairings: 0, columns: 0, copies: 0, cells: 0, lossy: 0, mustShow: 0 };
afterAll(() => {
  const seconds = ((Date.now() - stats.started) / 1000).toFixed(1);
  console.log(
    `type matrix: ${stats.pairings} pairings, ${stats.columns} (pairing, source type) columns × 2 targets ` +
      `(createTables, hand-made) = ${stats.columns * 2} column copies; ${stats.copies} copies compared, ` +
      `${stats.cells} cells by the test's own rules; ${stats.lossy} lossy cases; ${stats.mustShow} must-show ` +
      `cases; ${seconds} s`,
  );
});

async function openSide(dialect: Dialect, label: string): Promise<Side> {
  if (dialect === 'postgres') {
    const db = await pgDb(label);
    return pgSide(db.client, db.url);
  }
  if (dialect === 'mysql') {
    const db = await mysqlDb(label);
    return mysqlSide(db.conn, db.url);
  }
  const dir = mkdtempSync(join(tmpdir(), 'type-matrix-'));
  dirs.push(dir);
  const path = join(dir, `${label.replace(/\W+/g, '_')}.db`);
  new Database(path).close(); // the tool opens an existing database file, it does not create one
  return sqliteSide(path);
}

const ID_TYPE: Record<Dialect, string> = { postgres: 'integer', mysql: 'int', sqlite: 'INTEGER' };

function createTable(side: Side, table: string, columns: { name: string; type: string }[]): Promise<void> {
  const defs = [
    `id ${ID_TYPE[side.dialect]} NOT NULL PRIMARY KEY`,
    ...columns.map((c) => `${side.quote(c.name)} ${c.type}`),
  ];
  const suffix = side.dialect === 'mysql' ? ' CHARACTER SET utf8mb4' : '';
  return side.exec(`CREATE TABLE ${side.quote(table)} (${defs.join(', ')})${suffix}`);
}

/** The source table `src` of `spec`, filled with its seeded rows. */
async function fillSource(side: Side, spec: SourceSpec, seed: number): Promise<void> {
  if (spec.setup) await side.exec(spec.setup);
  await createTable(side, 'src', spec.columns);
  const rows = sourceRows(spec, seeded(seed));
  await side.insert('src', ['id', ...spec.columns.map((c) => c.name)], rows);
}

/** (a) then (b) for one copy of `src` into `table` (created by the run, or by hand before it). */
async function copyCase(
  label: string,
  source: Side,
  target: Side,
  spec: SourceSpec,
  table: string,
  createTables: boolean,
  seed: number,
): Promise<void> {
  const columns = spec.columns;
  const same = source.dialect === target.dialect;
  if (!createTables) {
    await createTable(
      target,
      table,
      columns.map((c) => ({ name: c.name, type: c.hand[target.dialect] ?? c.type })),
    );
  }
  const prefix = `tm${randomBytes(4).toString('hex')}:`;
  const plan = matrixPlan({
    source,
    target,
    tables: [
      { source: 'src', target: table, where: same ? undefined : `id < ${SPECIAL_ID}`, cacheKey: 'r:{id}' },
    ],
    createTables,
    cachePrefix: prefix,
  });

  // (a) an exact copy: run exits 0 with 0 mismatches, the test's own comparison agrees, verify exits 0.
  const run = await cli('run', plan);
  expect.soft(run.result.code, `${label}: run: ${describeStep(run)}`).toBe(0);
  if (run.result.code !== 0 && run.result.code !== 3) return; // 3: written, then found different
  expect.soft(run.summary?.tables[0]?.counts.mismatches, `${label}: run's per-batch check`).toBe(0);
  const sourceRead = await source.read('src');
  const ids = [...sourceRead.keys()].filter((id) => same || Number(id) < SPECIAL_ID);
  const targetRead = await target.read(table);
  const diffs = diffRows(columns, sourceRead, targetRead, ids);
  stats.copies++;
  stats.cells += ids.length * columns.length;
  expect.soft(diffs.length, `${label}: the copy itself (test's comparison): ${showDiffs(diffs)}`).toBe(0);
  const clean = await cli('verify', plan);
  expect.soft(clean.result.code, `${label}: verify of an exact copy: ${describeStep(clean)}`).toBe(0);
  expect.soft(clean.summary?.tables[0]?.counts.mismatches, `${label}: verify's mismatches`).toBe(0);
  // (b) needs an exact copy that every check agrees is one.
  if (run.result.code !== 0 || diffs.length > 0 || clean.result.code !== 0) return;

  // (b) k spoilt target cells and k spoilt cache entries: verify reports exactly those keys.
  const rand = seeded(seed + 1);
  const changed = await corruptTarget(target, table, columns, targetRead, K, rand, new Set(['1']));
  const expected: Report[] = changed.map((id) => ({
    table,
    key: `id=${id}`,
    in: 'target',
    problem: 'different',
  }));
  expected.push(...(await corruptCache(prefix, (id) => `r:${id}`, table, ids, K, rand, new Set(changed))));
  const after = diffRows(columns, sourceRead, await target.read(table), ids);
  expect([...new Set(after.map((d) => d.id))].sort(), `${label}: the corruption itself`).toEqual(
    [...changed].sort(),
  );
  const spoilt = await cli('verify', plan);
  expect.soft(spoilt.result.code, `${label}: verify after corruption: ${describeStep(spoilt)}`).toBe(3);
  expect
    .soft(reportSet(spoilt.mismatches), `${label}: verify reports exactly the spoilt keys`)
    .toEqual(reportSet(expected));
}

describe('type matrix: exact copies and seeded corruption, every pairing', () => {
  for (const [from, to] of PAIRINGS) {
    it(`${SHORT[from]} -> ${SHORT[to]}: createTables and hand-made targets`, async () => {
      const spec = SOURCES[from];
      const source = await openSide(from, `matrix ${SHORT[from]} ${SHORT[to]} src`);
      const target =
        from === 'sqlite' && to === 'sqlite'
          ? await openSide('sqlite', 'matrix target')
          : await openSide(to, `matrix ${SHORT[from]} ${SHORT[to]} dst`);
      await fillSource(source, spec, 19);
      stats.pairings++;
      stats.columns += spec.columns.length;
      const label = `${SHORT[from]} -> ${SHORT[to]}`;
      // Two target tables, two plans: independent, so they run side by side.
      await Promise.all([
        copyCase(`${label} createTables`, source, target, spec, 'created', true, 101),
        copyCase(`${label} hand-made`, source, target, spec, 'hand', false, 202),
      ]);
    });
  }
});

// ---------------------------------------------------------------------------- (c) lossy pairs

interface LossyCase {
  table: string;
  cls: ColumnSpec['cls'];
  source: Record<'postgres' | 'mysql', string>;
  target: Record<'postgres' | 'mysql', string>;
  /** Row 1 and 3 fit the target exactly; row 2 cannot arrive unchanged. */
  values: [unknown, unknown, unknown];
}

const LOSSY: LossyCase[] = [
  {
    table: 'lossy_float',
    cls: 'f8',
    source: { postgres: 'double precision', mysql: 'double' },
    target: { postgres: 'real', mysql: 'float' },
    values: [0.5, 0.1, -0.25],
  },
  {
    table: 'lossy_ts',
    cls: 'ts',
    source: { postgres: 'timestamp(6)', mysql: 'datetime(6)' },
    target: { postgres: 'timestamp(3)', mysql: 'datetime(3)' },
    values: ['2024-01-01 00:00:00.123', '2024-01-01 00:00:00.123456', '2024-01-01 00:00:00'],
  },
  {
    table: 'lossy_varchar',
    cls: 'text',
    source: { postgres: 'varchar(20)', mysql: 'varchar(20)' },
    target: { postgres: 'varchar(10)', mysql: 'varchar(10)' },
    values: ['short', 'fifteen chars!!', ''],
  },
  {
    table: 'lossy_numeric',
    cls: 'dec',
    source: { postgres: 'numeric(12,4)', mysql: 'decimal(12,4)' },
    target: { postgres: 'numeric(12,2)', mysql: 'decimal(12,2)' },
    values: ['1.2300', '1.2345', '-5.0000'],
  },
];

describe('type matrix: lossy pairs are named errors or counted rejections', () => {
  const lossyPairings = PAIRINGS.filter(([f, t]) => f !== 'sqlite' && t !== 'sqlite') as [
    'postgres' | 'mysql',
    'postgres' | 'mysql',
  ][];
  for (const [from, to] of lossyPairings) {
    it(`${SHORT[from]} -> ${SHORT[to]}: float8 -> real, timestamp(6) -> (3), varchar(20) -> (10), numeric scale 4 -> 2`, async () => {
      const source = await openSide(from, `lossy ${SHORT[from]} ${SHORT[to]} src`);
      const target = await openSide(to, `lossy ${SHORT[from]} ${SHORT[to]} dst`);
      const col = (c: LossyCase): ColumnSpec => ({
        name: 'v',
        type: c.source[from],
        cls: c.cls,
        hand: {},
        edges: [],
        random: () => null,
      });
      for (const c of LOSSY) {
        await createTable(source, c.table, [{ name: 'v', type: c.source[from] }]);
        await source.insert(
          c.table,
          ['id', 'v'],
          c.values.map((v, i) => [i + 1, v]),
        );
        await createTable(target, c.table, [{ name: 'v', type: c.target[to] }]);
      }
      const label = `${SHORT[from]} -> ${SHORT[to]}`;
      // Default (invalid: error): exit 1 naming table, key and column; row 2 never arrives changed.
      await Promise.all(
        LOSSY.map(async (c) => {
          stats.lossy++;
          const plan = matrixPlan({
            source,
            target,
            tables: [{ source: c.table, target: c.table }],
            batchSize: 1,
          });
          const run = await cli('run', plan);
          const what = `${label} ${c.table} (${c.source[from]} -> ${c.target[to]})`;
          expect.soft(run.result.code, `${what}: ${describeStep(run)}`).toBe(1);
          expect
            .soft(run.result.stderr, `${what}: the error names table, key and column`)
            .toMatch(new RegExp(`table ${c.table}, key id=2, column v\\b`));
          const row2 = (await target.read(c.table)).get('2');
          expect
            .soft(row2 === undefined ? 'absent' : row2.v, `${what}: row 2 must not arrive changed`)
            .toBe('absent');
          await target.exec(`DELETE FROM ${target.quote(c.table)}`);
        }),
      );
      // invalid: skip: row 2 rejected and counted, rows 1 and 3 exact; no later false mismatch.
      const plan = matrixPlan({
        source,
        target,
        tables: LOSSY.map((c) => ({ source: c.table, target: c.table })),
        defaults: ['invalid: skip'],
      });
      const run = await cli('run', plan);
      expect.soft(run.result.code, `${label} invalid: skip: ${describeStep(run)}`).toBe(0);
      for (const c of LOSSY) {
        const counts = run.summary?.tables.find((t) => t.table === c.table)?.counts;
        expect
          .soft(counts, `${label} ${c.table} invalid: skip counts`)
          .toMatchObject({ written: 2, skipped: 1, mismatches: 0 });
        const held = await target.read(c.table);
        const diffs = diffRows([col(c)], await source.read(c.table), held, ['1', '3']);
        expect.soft(diffs.length, `${label} ${c.table} invalid: skip: ${showDiffs(diffs)}`).toBe(0);
      }
      expect
        .soft(
          rejects(plan)
            .map((r) => `${r.table} ${r.key} ${r.column ?? ''}`)
            .sort(),
          `${label}: the rejects report`,
        )
        .toEqual(LOSSY.map((c) => `${c.table} id=2 v`).sort());
      const verify = await cli('verify', plan);
      // The rejected rows are not in the target: verify may say so (and nothing else), or know them as rejected.
      const reported = reportSet(verify.mismatches);
      const missing = reportSet(
        LOSSY.map((c) => ({ table: c.table, key: 'id=2', in: 'target', problem: 'missing' })),
      );
      expect
        .soft(
          verify.result.code === 0
            ? reported
            : verify.result.code === 3
              ? reported
              : [`exit ${verify.result.code}`],
          `${label} verify after invalid: skip: ${describeStep(verify)}`,
        )
        .toEqual(verify.result.code === 0 ? [] : missing);
    });
  }
});

// ---------------------------------------------------------------------------- issue 19's "must show"

interface MustShow {
  source: Side;
  target: Side;
  /** Source DDL of table `t` (id + one column `c`), its rows, and the hand-made target DDL (or createTables). */
  sourceType: string;
  targetType: string | null;
  rows: unknown[][];
  cls: ColumnSpec['cls'];
  defaults?: string[];
  /** A value for `c` that differs from row 17's. */
  changed: unknown;
  /** The source value as the target must hold it (default: unchanged). */
  expectAt?: (v: unknown) => unknown;
}

async function mustShow(label: string, o: MustShow): Promise<void> {
  stats.mustShow++;
  await createTable(o.source, 't', [{ name: 'c', type: o.sourceType }]);
  await o.source.insert('t', ['id', 'c'], o.rows);
  if (o.targetType !== null) await createTable(o.target, 't', [{ name: 'c', type: o.targetType }]);
  const plan = matrixPlan({
    source: o.source,
    target: o.target,
    tables: [{ source: 't', target: 't' }],
    createTables: o.targetType === null,
    defaults: o.defaults,
    batchSize: 500,
  });
  const run = await cli('run', plan);
  expect.soft(run.result.code, `${label}: run: ${describeStep(run)}`).toBe(0);
  if (run.result.code !== 0 && run.result.code !== 3) return;
  expect.soft(run.summary?.tables[0]?.counts.mismatches, `${label}: run's per-batch check`).toBe(0);
  const column: ColumnSpec = {
    name: 'c',
    type: o.sourceType,
    cls: o.cls,
    hand: {},
    edges: [],
    random: () => null,
  };
  const src = await o.source.read('t');
  if (o.expectAt) for (const row of src.values()) row.c = o.expectAt(row.c);
  const diffs = diffRows([column], src, await o.target.read('t'), [...src.keys()]);
  expect.soft(diffs.length, `${label}: the copy itself: ${showDiffs(diffs)}`).toBe(0);
  const clean = await cli('verify', plan);
  expect.soft(clean.result.code, `${label}: verify of an exact copy: ${describeStep(clean)}`).toBe(0);
  if (clean.result.code !== 0) return; // one changed cell is only news against a clean verify
  await o.target.exec(
    `UPDATE ${o.target.quote('t')} SET c = ${typeof o.changed === 'string' ? `'${o.changed}'` : o.changed} WHERE id = 17`,
  );
  const spoilt = await cli('verify', plan, false);
  expect.soft(spoilt.result.code, `${label}: verify after one changed cell: ${describeStep(spoilt)}`).toBe(3);
  expect
    .soft(spoilt.result.stderr, `${label}: names the key`)
    .toContain('t id=17: target different (columns: c)');
  expect.soft(reportSet(spoilt.mismatches)).toEqual(['t id=17 target different']);
}

/** CHAR(10) values: padded, empty, full, non-ASCII, and seeded random ones (row 17 is 'seventeen'). */
function charRows(): unknown[][] {
  const rand = seeded(1900);
  const fixed = ['ab', '', 'ab    ', '  lead', 'é😀ü', '0123456789', 'x y '];
  return Array.from({ length: 300 }, (_, i) => {
    const id = i + 1;
    if (id === 17) return [id, 'seventeen'];
    if (id % 23 === 0) return [id, null];
    const v =
      fixed[i] ?? Array.from({ length: rand() % 11 }, () => String.fromCharCode(97 + (rand() % 26))).join('');
    return [id, rand() % 4 === 0 && v.length < 8 ? `${v}  ` : v];
  });
}

describe("type matrix: issue 19's must-show cases", () => {
  it('MySQL CHAR(10) -> PostgreSQL char(10), hand-made target: exit 0 when exact, 3 naming the key', async () => {
    await mustShow('mysql char(10) -> pg char(10)', {
      source: await openSide('mysql', 'must char my src'),
      target: await openSide('postgres', 'must char my dst'),
      sourceType: 'char(10)',
      targetType: 'char(10)',
      rows: charRows(),
      cls: 'char',
      changed: 'changed',
    });
  });

  it('PostgreSQL char(10) -> MySQL CHAR(10), hand-made target: exit 0 when exact, 3 naming the key', async () => {
    await mustShow('pg char(10) -> mysql char(10)', {
      source: await openSide('postgres', 'must char pg src'),
      target: await openSide('mysql', 'must char pg dst'),
      sourceType: 'char(10)',
      targetType: 'char(10)',
      rows: charRows(),
      cls: 'char',
      changed: 'changed',
    });
  });

  it('MySQL FLOAT -> PostgreSQL real with createTables: exit 0 when exact, 3 naming the key', async () => {
    const rand = seeded(4121);
    const rows = Array.from({ length: 300 }, (_, i) => {
      const id = i + 1;
      if (id === 17) return [id, 1.5];
      const fixed = [41210448, 0.1, 16777217, 3.4028234663852886e38, 1.401298464324817e-45, -0, 123456.789];
      return [id, fixed[i] ?? Math.fround((rand() / 2 ** 31 - 0.5) * 10 ** ((rand() % 16) - 4))];
    });
    await mustShow('mysql float -> pg real (createTables)', {
      source: await openSide('mysql', 'must float src'),
      target: await openSide('postgres', 'must float dst'),
      sourceType: 'float',
      targetType: null,
      rows,
      cls: 'f4',
      changed: 2.5,
    });
  });

  it('defaults: { zeroDates: null } (unquoted YAML null) is accepted: exit 0 when exact, 3 naming the key', async () => {
    const source = await openSide('mysql', 'must zero src');
    await source.exec("SET SESSION sql_mode = ''");
    const rows = Array.from({ length: 100 }, (_, i) => {
      const id = i + 1;
      return [
        id,
        id % 10 === 3
          ? '0000-00-00'
          : id % 10 === 4
            ? '2024-00-10'
            : `2024-01-${String((id % 28) + 1).padStart(2, '0')}`,
      ];
    });
    await mustShow('zeroDates: null (YAML null)', {
      source,
      target: await openSide('postgres', 'must zero dst'),
      sourceType: 'date',
      targetType: 'date',
      rows,
      cls: 'date',
      defaults: ['zeroDates: null'],
      changed: '2001-01-01',
      expectAt: (v) => (typeof v === 'string' && /-00(-|$)/.test(v) ? null : v),
    });
  });
});
