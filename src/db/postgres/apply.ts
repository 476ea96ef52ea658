/**
 * Applying followed changes (Writer.applyChanges) inside the writer's open transaction: each run of upserts
 * is COPYed into the session's staging table and merged with INSERT … SELECT … ON CONFLICT DO UPDATE (a row
 * conflicting on another unique index fails, as it should); each run of deletes COPYs its keys into the
 * stage and deletes with a join; a truncate is a DELETE of every row (transactional, and it needs only the
 * DELETE privilege, where TRUNCATE needs its own and refuses tables other tables reference).
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Row } from '../../convert/value.js';
import { changeRuns } from '../apply-runs.js';
import type { ApplyResult, TargetChange, WriteSpec } from '../writer.js';
import { type CopyEncoder, copyEncoderFor, encodeCopyText } from './codec.js';
import { columnList, quoteIdent, quoteTable } from './sql.js';

/** Changes per COPY: bounds the text a run holds in memory. */
const ROWS_PER_RUN = 10_000;

export class PostgresApplier {
  private readonly copyRowsSql: string;
  private readonly copyKeysSql: string;
  private readonly upsertSql: string;
  private readonly deleteSql: string;
  private readonly truncateSql: string;
  private readonly clearSql: string;
  private readonly rowEncoders: CopyEncoder[];
  private readonly keyEncoders: CopyEncoder[];

  /**
   * `stage`: the writer's staging table (columns like the target's, no constraints), empty when a
   * transaction begins; `ensureStage` creates it in the open transaction; `dataError` names a rejected value.
   */
  constructor(
    private readonly client: pg.Client,
    private readonly spec: WriteSpec,
    stage: string,
    private readonly ensureStage: () => Promise<void>,
    private readonly dataError: (error: unknown) => unknown,
  ) {
    const names = spec.columns.map((c) => c.name);
    const keyNames = spec.key.map((i) => names[i]!);
    const nonKey = names.filter((n) => !keyNames.includes(n));
    const target = quoteTable(spec.ref);
    const cols = columnList(names);
    const conflict =
      nonKey.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${nonKey.map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`).join(', ')}`;
    this.copyRowsSql = `COPY ${stage} (${cols}) FROM STDIN`;
    this.copyKeysSql = `COPY ${stage} (${columnList(keyNames)}) FROM STDIN`;
    this.upsertSql = `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${stage} ON CONFLICT (${columnList(keyNames)}) ${conflict}`;
    const on = keyNames.map((n) => `t.${quoteIdent(n)} = s.${quoteIdent(n)}`).join(' AND ');
    this.deleteSql = `DELETE FROM ${target} AS t USING ${stage} AS s WHERE ${on}`;
    this.truncateSql = `DELETE FROM ${target}`;
    this.clearSql = `DELETE FROM ${stage}`;
    this.rowEncoders = spec.columns.map((c) => copyEncoderFor(c));
    this.keyEncoders = spec.key.map((i) => copyEncoderFor(spec.columns[i]!));
  }

  /** Applies the changes in order; the caller holds the transaction and writes the checkpoint. */
  async apply(changes: readonly TargetChange[]): Promise<ApplyResult> {
    const result: ApplyResult = { upserted: 0, deleted: 0 };
    for (const run of changeRuns(changes, this.spec.columns, this.spec.key, ROWS_PER_RUN)) {
      if (run.op === 'truncate') {
        result.deleted += (await this.client.query(this.truncateSql)).rowCount ?? 0;
      } else if (run.op === 'upsert') {
        await this.stageRows(this.copyRowsSql, run.rows, this.rowEncoders);
        result.upserted += await this.run(this.upsertSql);
      } else {
        await this.stageRows(this.copyKeysSql, run.keys, this.keyEncoders);
        result.deleted += await this.run(this.deleteSql);
      }
    }
    return result;
  }

  private async run(sql: string): Promise<number> {
    let count: number;
    try {
      count = (await this.client.query(sql)).rowCount ?? 0;
    } catch (error) {
      throw this.dataError(error);
    }
    await this.client.query(this.clearSql);
    return count;
  }

  private async stageRows(sql: string, rows: Row[], encoders: CopyEncoder[]): Promise<void> {
    await this.ensureStage();
    const stream = this.client.query(copyFrom(sql));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    stream.end(encodeCopyText(rows, encoders));
    try {
      await done;
    } catch (error) {
      throw this.dataError(error);
    }
  }
}
