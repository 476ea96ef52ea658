/**
 * Applying followed changes (Writer.applyChanges): the changes are encoded first (a value SQLite cannot hold
 * fails before anything is written), then applied in order in one synchronous `BEGIN IMMEDIATE` transaction:
 * runs of upserts as multi-row `INSERT … ON CONFLICT (key) DO UPDATE` (a row conflicting on another unique
 * index fails, as it should), runs of deletes as `DELETE … WHERE key IN (…)`, each statement under SQLite's
 * parameter limit; a truncate is a DELETE of every row.
 */
import type { Row } from '../../convert/value.js';
import { changeRuns } from '../apply-runs.js';
import type { ApplyResult, TargetChange, WriteSpec } from '../writer.js';
import { type Encoder, encoderFor, type Param } from './codec.js';
import type { Db, Statement } from './connection.js';
import { columnList, MAX_PARAMS, placeholders, quoteIdent, quoteTable } from './sql.js';

/** Rows per statement at most, as the writer's INSERTs (fewer when the parameter limit says so). */
const ROWS_PER_STATEMENT = 256;
const MAX_CACHED = 8;

type Step = { op: 'upsert'; params: Param[][] } | { op: 'delete'; params: Param[][] } | { op: 'truncate' };

/** Statements of 1..n rows of `width` parameters each, prepared once per size. */
class Sized {
  private readonly cache = new Map<number, Statement>();
  readonly perStatement: number;

  constructor(
    private readonly db: Db,
    private readonly sql: (n: number) => string,
    width: number,
  ) {
    this.perStatement = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor(MAX_PARAMS / width)));
  }

  /** Runs `params` in statements of up to perStatement rows; returns the rows changed. */
  run(params: Param[][]): number {
    let changed = 0;
    for (let start = 0; start < params.length; start += this.perStatement) {
      const part = params.slice(start, start + this.perStatement);
      let stmt = this.cache.get(part.length);
      if (!stmt) {
        stmt = this.db.prepare(this.sql(part.length));
        if (this.cache.size >= MAX_CACHED) this.cache.clear();
        this.cache.set(part.length, stmt);
      }
      changed += stmt.run(...part.flat()).changes;
    }
    return changed;
  }
}

export class SqliteApplier {
  private readonly upserts: Sized;
  private readonly deletes: Sized;
  private readonly truncate: Statement;
  private readonly keyEncoders: Encoder[];

  constructor(
    db: Db,
    private readonly spec: WriteSpec,
    /** The writer's row encoding (a DataError names a value SQLite cannot hold). */
    private readonly encodeRows: (rows: Row[]) => Param[][],
  ) {
    const names = spec.columns.map((c) => c.name);
    const keyNames = spec.key.map((i) => names[i]!);
    const nonKey = names.filter((n) => !keyNames.includes(n));
    const target = quoteTable(spec.ref);
    const conflict =
      nonKey.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${nonKey.map((n) => `${quoteIdent(n)} = excluded.${quoteIdent(n)}`).join(', ')}`;
    const row = `(${placeholders(names.length)})`;
    const head = `INSERT INTO ${target} (${columnList(names)}) VALUES `;
    const tail = ` ON CONFLICT (${columnList(keyNames)}) ${conflict}`;
    this.upserts = new Sized(db, (n) => head + Array(n).fill(row).join(', ') + tail, names.length);
    const lhs = keyNames.length === 1 ? quoteIdent(keyNames[0]!) : `(${columnList(keyNames)})`;
    const keyRow = `(${placeholders(keyNames.length)})`;
    const list = (n: number) =>
      keyNames.length === 1 ? `(${placeholders(n)})` : `(VALUES ${Array(n).fill(keyRow).join(', ')})`;
    this.deletes = new Sized(db, (n) => `DELETE FROM ${target} WHERE ${lhs} IN ${list(n)}`, keyNames.length);
    this.truncate = db.prepare(`DELETE FROM ${target}`);
    this.keyEncoders = spec.key.map((i) => encoderFor(spec.columns[i]!.kind));
  }

  /** The changes as parameters, in runs: encoded before the transaction begins. */
  prepare(changes: readonly TargetChange[]): Step[] {
    return changeRuns(changes, this.spec.columns, this.spec.key).map((run) => {
      if (run.op === 'truncate') return run;
      if (run.op === 'upsert') return { op: 'upsert', params: this.encodeRows(run.rows) };
      return { op: 'delete', params: run.keys.map((k) => this.keyEncoders.map((e, j) => e(k[j] ?? null))) };
    });
  }

  /** Applies prepared steps; the caller holds the transaction and writes the checkpoint. */
  apply(steps: Step[]): ApplyResult {
    const result: ApplyResult = { upserted: 0, deleted: 0 };
    for (const step of steps) {
      if (step.op === 'truncate') result.deleted += this.truncate.run().changes;
      else if (step.op === 'upsert') result.upserted += this.upserts.run(step.params);
      else result.deleted += this.deletes.run(step.params);
    }
    return result;
  }
}
