/**
 * What a chunk's copy asks of the two databases: the read and write specs of a table mapping, and the
 * lease each checkpoint extends.
 */
import type { Row } from '../convert/value.js';
import type { ReadSpec } from '../db/batch.js';
import type { WriteSpec } from '../db/writer.js';
import type { EngineContext } from './context.js';
import type { TableMapping } from './mapping.js';

export const LEASE_MS = 60_000;

export function writeSpec(ctx: EngineContext, m: TableMapping): WriteSpec {
  return {
    ref: m.targetRef,
    columns: m.targetColumns,
    key: m.key,
    onConflict: m.options.onConflict,
    stateTable: ctx.stateTable,
    label: m.label,
  };
}

export function readSpec(
  ctx: EngineContext,
  m: TableMapping,
  after: Row | null,
  until: Row | null,
): ReadSpec {
  return {
    from: m.from,
    columns: m.sourceColumns,
    key: m.key,
    batchSize: ctx.batchSize ?? m.options.batchSize,
    maxBatchBytes: m.options.maxBatchBytes,
    after,
    until,
  };
}
