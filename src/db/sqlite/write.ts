/**
 * Writing batches: multi-row INSERTs with the plan's conflict rule, the read-back of the batch's rows for the
 * checksum, and the checkpoint — all in one `BEGIN IMMEDIATE` transaction, executed synchronously.
 */
import type { Row } from '../../convert/value.js';
import { DataError } from '../../errors.js';
import { APPLY_DUPLICATE_HINT, requireKey } from '../apply-runs.js';
import { type Batch, rowsOf } from '../batch.js';
import { type FollowCheckpoint, followLeaseLost } from '../follow-state.js';
import {
  type ApplyResult,
  type BatchResult,
  type CheckpointUpdate,
  leaseTakenOver,
  type TargetChange,
  type Writer,
  type WriteSpec,
} from '../writer.js';
import { SqliteApplier } from './apply.js';
import { type Encoder, encoderFor, type Param, StorageMismatch } from './codec.js';
import {
  describe,
  type OpenTransaction,
  type SqliteConnection,
  type Statement,
  sqliteCode,
} from './connection.js';
import { followCheckpointParams, followCheckpointSql } from './follow.js';
import { KeyLookup, rowDecoder } from './read.js';
import { columnList, MAX_PARAMS, placeholders, quoteIdent, quoteTable } from './sql.js';
import { checkpointParams, checkpointSql } from './state.js';

/** Rows per INSERT statement (fewer when the columns would exceed SQLite's parameter limit). */
const ROWS_PER_INSERT = 256;

export class SqliteWriter implements Writer {
  private readonly names: string[];
  private readonly target: string;
  private readonly insertHead: string;
  private readonly conflict: string;
  private readonly rowValues: string;
  private readonly rowsPerInsert: number;
  private readonly inserts = new Map<number, Statement>();
  private readonly encoders: Encoder[];
  private readonly checkpoint: Statement;
  private readonly lookup: KeyLookup | null;
  private readonly decode: ReturnType<typeof rowDecoder>;
  private whole: OpenTransaction | null = null;
  /** Inside applyChanges: a duplicate can only come from another unique index (see dataError). */
  private applying = false;
  private applier: SqliteApplier | null = null;
  private followCheckpoint: Statement | null = null;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly spec: WriteSpec,
  ) {
    this.names = spec.columns.map((c) => c.name);
    this.target = quoteTable(spec.ref);
    const keyNames = spec.key.map((i) => this.names[i]!);
    const nonKey = this.names.filter((n) => !keyNames.includes(n));
    const conflictCols = columnList(keyNames);
    this.conflict = '';
    if (keyNames.length > 0) {
      if (spec.onConflict === 'skip' || (spec.onConflict === 'upsert' && nonKey.length === 0)) {
        this.conflict = ` ON CONFLICT (${conflictCols}) DO NOTHING`;
      } else if (spec.onConflict === 'upsert') {
        const sets = nonKey.map((n) => `${quoteIdent(n)} = excluded.${quoteIdent(n)}`).join(', ');
        this.conflict = ` ON CONFLICT (${conflictCols}) DO UPDATE SET ${sets}`;
      }
    }
    this.insertHead = `INSERT INTO ${this.target} (${columnList(this.names)}) VALUES `;
    this.rowValues = `(${placeholders(this.names.length)})`;
    this.rowsPerInsert = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_PARAMS / this.names.length)));
    this.encoders = spec.columns.map((c) => encoderFor(c.kind));
    this.checkpoint = conn.db.prepare(checkpointSql(spec.stateTable));
    this.lookup = spec.key.length > 0 ? new KeyLookup(conn.db, this.target, spec.columns, spec.key) : null;
    this.decode = rowDecoder(spec.columns, spec.key, spec.label);
  }

  private insert(n: number): Statement {
    let stmt = this.inserts.get(n);
    if (!stmt) {
      const values = Array.from({ length: n }, () => this.rowValues).join(', ');
      stmt = this.conn.db.prepare(this.insertHead + values + this.conflict);
      if (this.inserts.size >= 8) this.inserts.clear();
      this.inserts.set(n, stmt);
    }
    return stmt;
  }

  /** Rows -> parameters, before any transaction: a value SQLite cannot hold is a DataError naming it. */
  private encode(rows: Row[]): Param[][] {
    const n = this.encoders.length;
    return rows.map((row) => {
      const params: Param[] = new Array(n);
      let i = 0;
      try {
        for (; i < n; i++) params[i] = this.encoders[i]!(row[i] ?? null);
      } catch (error) {
        if (!(error instanceof StorageMismatch)) throw error;
        const key = this.spec.key.map((k) => `${this.names[k]}=${String(row[k] ?? null)}`).join(',');
        throw new DataError(
          { table: this.spec.label, ...(key ? { key } : {}), column: this.names[i]! },
          `the SQLite target column (declared ${this.spec.columns[i]!.dbType}): ${error.message}`,
          { cause: error, hint: 'map the column to a target type that can hold it, or fix the source value' },
        );
      }
      return params;
    });
  }

  private insertAll(params: Param[][]): number {
    let written = 0;
    try {
      for (let start = 0; start < params.length; start += this.rowsPerInsert) {
        const part = params.slice(start, start + this.rowsPerInsert);
        written += this.insert(part.length).run(...part.flat()).changes;
      }
    } catch (error) {
      throw this.dataError(error);
    }
    return written;
  }

  private dataError(error: unknown): unknown {
    const code = sqliteCode(error);
    if (!/^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code)) return error;
    const hint = /PRIMARYKEY|UNIQUE/.test(code)
      ? this.applying
        ? APPLY_DUPLICATE_HINT
        : 'the row already exists in the target: use onConflict: upsert or skip, or empty the target table'
      : 'fix the source value, or map the column to a target type that can hold it';
    return new DataError({ table: this.spec.label }, `the target rejected the batch: ${describe(error)}`, {
      cause: error,
      hint,
    });
  }

  async writeBatch(
    input: Row[] | Batch,
    checkpoint: CheckpointUpdate,
    readBack: boolean,
  ): Promise<BatchResult> {
    const params = this.encode(rowsOf(input));
    return this.conn.transaction(() => {
      const written = this.insertAll(params);
      const back =
        readBack && this.lookup
          ? this.lookup.find(params.map((p) => this.spec.key.map((k) => p[k] ?? null))).map(this.decode)
          : null;
      this.saveCheckpoint(checkpoint);
      return { written, readBack: back };
    });
  }

  async applyChanges(changes: TargetChange[], checkpoint: FollowCheckpoint): Promise<ApplyResult> {
    requireKey(this.spec);
    this.applier ??= new SqliteApplier(this.conn.db, this.spec, (rows) => this.encode(rows));
    this.followCheckpoint ??= this.conn.db.prepare(followCheckpointSql(this.spec.stateTable));
    const applier = this.applier;
    const save = this.followCheckpoint;
    const steps = applier.prepare(changes);
    return this.conn.transaction(() => {
      let result: ApplyResult;
      this.applying = true;
      try {
        result = applier.apply(steps);
      } catch (error) {
        throw this.dataError(error);
      } finally {
        this.applying = false;
      }
      if (save.run(followCheckpointParams(checkpoint)).changes !== 1) throw followLeaseLost(checkpoint.plan);
      return result;
    });
  }

  private saveCheckpoint(checkpoint: CheckpointUpdate): void {
    const updated = this.checkpoint.run(checkpointParams(checkpoint));
    if (updated.changes !== 1) {
      throw leaseTakenOver(checkpoint);
    }
  }

  async beginWhole(): Promise<void> {
    const tx = await this.conn.open();
    const any = this.conn.db.prepare(`SELECT 1 FROM ${this.target} LIMIT 1`).get();
    if (any !== undefined) {
      tx.rollback();
      throw new DataError(
        { table: this.spec.label },
        'the table has no key, so it is copied in one transaction into an EMPTY target table, and the target has rows',
        { hint: 'empty the target table, or give the table a `key:` in the plan' },
      );
    }
    this.whole = tx;
  }

  async appendWhole(rows: Row[]): Promise<number> {
    return this.insertAll(this.encode(rows));
  }

  async finishWhole(checkpoint: CheckpointUpdate): Promise<void> {
    const tx = this.whole;
    this.whole = null;
    if (!tx) throw new Error('finishWhole without beginWhole');
    try {
      this.saveCheckpoint(checkpoint);
    } catch (error) {
      tx.rollback();
      throw error;
    }
    tx.commit();
  }

  async close(): Promise<void> {
    this.whole?.rollback();
    this.whole = null;
  }
}
