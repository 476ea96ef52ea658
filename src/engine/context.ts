/** What a table's pipeline needs from the run around it. */
import type { Cache } from '../cache/cache.js';
import type { Dialect } from '../db/dialect.js';
import type { PlanCache } from '../plan/schema.js';
import type { EventSink, Mismatch } from './events.js';

export interface Reject {
  table: string;
  key: string;
  column: string;
  error: string;
}

export interface EngineContext {
  planName: string;
  source: Dialect;
  target: Dialect;
  stateTable: string;
  /** Null when the plan has no cache or `warm: off`. */
  cache: Cache | null;
  cacheConfig: PlanCache | null;
  sink: EventSink;
  /** This run's lease owner id: host, pid and a random part. */
  owner: string;
  /** `--batch-size` (overrides the plan). */
  batchSize: number | undefined;
  shouldStop: () => boolean;
  recordMismatch: (m: Mismatch) => void;
  recordReject: (r: Reject) => void;
  /** Keys not warmed because their server failed. */
  recordUnwarmed: (table: string, keys: readonly string[]) => void;
}
