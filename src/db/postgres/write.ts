/**
 * Writing batches: COPY into a session-temporary staging table, then one INSERT … SELECT with the plan's
 * conflict rule, the read-back for the checksum, and the checkpoint — all in one transaction.
 */

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row } from '../../convert/value.js';
import { DataError, RuntimeError } from '../../errors.js';
import type { BatchResult, CheckpointUpdate, Writer, WriteSpec } from '../dialect.js';
import { copyEncode } from './codec.js';
import { describe } from './connect.js';
import { rowDecoder } from './read.js';
import { columnList, quoteIdent, quoteTable } from './sql.js';
import { checkpointSql, checkpointValues } from './state.js';

const STAGE = '"_migrate_stage"';

export class PostgresWriter implements Writer {
  private readonly names: string[];
  private readonly insertSql: string;
  private readonly readBackSql: string;
  private readonly decode: (raw: (string | null)[]) => Row;
  private staged = false;
  private inWhole = false;

  constructor(
    private readonly client: pg.Client,
    private readonly spec: WriteSpec,
  ) {
    this.names = spec.columns.map((c) => c.name);
    const target = quoteTable(spec.ref);
    const cols = columnList(this.names);
    const keyNames = spec.key.map((i) => this.names[i]!);
    const conflictCols = columnList(keyNames);
    const nonKey = this.names.filter((n) => !keyNames.includes(n));
    let conflict = '';
    if (spec.onConflict === 'skip' || (spec.onConflict === 'upsert' && nonKey.length === 0)) {
      conflict = ` ON CONFLICT (${conflictCols}) DO NOTHING`;
    } else if (spec.onConflict === 'upsert') {
      const sets = nonKey.map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`).join(', ');
      conflict = ` ON CONFLICT (${conflictCols}) DO UPDATE SET ${sets}`;
    }
    this.insertSql = `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${STAGE}${conflict}`;
    const on = keyNames.map((n) => `t.${quoteIdent(n)} = s.${quoteIdent(n)}`).join(' AND ');
    this.readBackSql = `SELECT ${columnList(this.names, 't')} FROM ${target} AS t JOIN ${STAGE} AS s ON ${on}`;
    this.decode = rowDecoder(spec.columns);
  }

  private async ensureStage(): Promise<void> {
    if (this.staged) return;
    await this.client.query(
      `CREATE TEMP TABLE IF NOT EXISTS ${STAGE} ON COMMIT DELETE ROWS AS ` +
        `SELECT ${columnList(this.names)} FROM ${quoteTable(this.spec.ref)} WITH NO DATA`,
    );
    this.staged = true;
  }

  private async copyInto(table: string, rows: Row[]): Promise<void> {
    const sql = `COPY ${table} (${columnList(this.names)}) FROM STDIN`;
    const stream = this.client.query(copyFrom(sql));
    await pipeline(Readable.from(encodeChunks(rows)), stream);
  }

  async writeBatch(rows: Row[], checkpoint: CheckpointUpdate, readBack: boolean): Promise<BatchResult> {
    await this.ensureStage();
    await this.client.query('BEGIN');
    try {
      await this.copyInto(STAGE, rows);
      const inserted = await this.insertChecked();
      const back = readBack
        ? (await this.client.query<(string | null)[]>({ text: this.readBackSql, rowMode: 'array' })).rows.map(
            this.decode,
          )
        : null;
      await this.saveCheckpoint(checkpoint);
      await this.client.query('COMMIT');
      return { written: inserted, readBack: back };
    } catch (error) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  async trialBatch(rows: Row[]): Promise<BatchResult> {
    await this.ensureStage();
    await this.client.query('BEGIN');
    try {
      await this.copyInto(STAGE, rows);
      const written = await this.insertChecked();
      const back = await this.client.query<(string | null)[]>({ text: this.readBackSql, rowMode: 'array' });
      return { written, readBack: back.rows.map(this.decode) };
    } finally {
      await this.client.query('ROLLBACK').catch(() => undefined);
    }
  }

  private async insertChecked(): Promise<number> {
    try {
      return (await this.client.query(this.insertSql)).rowCount ?? 0;
    } catch (error) {
      throw this.dataError(error);
    }
  }

  private dataError(error: unknown): unknown {
    const e = error as { code?: string; detail?: string; column?: string };
    if (typeof e.code !== 'string' || !/^(22|23)/.test(e.code)) return error;
    const hint =
      e.code === '23505'
        ? 'the row already exists in the target: use onConflict: upsert or skip, or empty the target table'
        : 'fix the source value, or map the column to a target type that can hold it';
    return new DataError(
      { table: this.spec.label, ...(e.column ? { column: e.column } : {}) },
      `the target rejected the batch: ${describe(error)}${e.detail ? ` — ${e.detail}` : ''}`,
      { cause: error, hint },
    );
  }

  private async saveCheckpoint(checkpoint: CheckpointUpdate): Promise<void> {
    const updated = await this.client.query(
      checkpointSql(this.spec.stateTable),
      checkpointValues(checkpoint),
    );
    if (updated.rowCount !== 1) {
      throw new RuntimeError(
        `table ${checkpoint.table}: this worker's lease on chunk ${checkpoint.chunk} was taken over by another run`,
        { hint: 'another run of this plan is working on it; let it finish or run again later' },
      );
    }
  }

  async beginWhole(): Promise<void> {
    await this.client.query('BEGIN');
    this.inWhole = true;
    const any = await this.client.query(`SELECT 1 FROM ${quoteTable(this.spec.ref)} LIMIT 1`);
    if ((any.rowCount ?? 0) > 0) {
      await this.client.query('ROLLBACK');
      this.inWhole = false;
      throw new DataError(
        { table: this.spec.label },
        'the table has no key, so it is copied in one transaction into an EMPTY target table, and the target has rows',
        { hint: 'empty the target table, or give the table a `key:` in the plan' },
      );
    }
  }

  async appendWhole(rows: Row[]): Promise<number> {
    try {
      await this.copyInto(quoteTable(this.spec.ref), rows);
    } catch (error) {
      throw this.dataError(error);
    }
    return rows.length;
  }

  async finishWhole(checkpoint: CheckpointUpdate): Promise<void> {
    try {
      await this.saveCheckpoint(checkpoint);
      await this.client.query('COMMIT');
    } finally {
      this.inWhole = false;
    }
  }

  async close(): Promise<void> {
    if (this.inWhole) await this.client.query('ROLLBACK').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}

/** COPY text in chunks of ~256 rows, so a batch is written as a few large buffers, not one per row. */
function* encodeChunks(rows: Row[]): Generator<string> {
  let out = '';
  let n = 0;
  for (const row of rows) {
    let line = '';
    for (let i = 0; i < row.length; i++) line += (i ? '\t' : '') + copyEncode(row[i] ?? null);
    out += `${line}\n`;
    if (++n === 256) {
      yield out;
      out = '';
      n = 0;
    }
  }
  if (out) yield out;
}
