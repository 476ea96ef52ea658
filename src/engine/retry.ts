/**
 * Lost connections: a chunk whose source or target connection dropped (server restarted, network cut,
 * stall ended by a timeout) is run again from its checkpoint after a backoff — the batch in flight rolled
 * back with its transaction, so nothing is lost or doubled. Bounded: then the run fails with exit 1.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionError } from '../errors.js';

/** Waits before attempts 2, 3, ...: about 33 s in all before giving up. */
export const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 16000];

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT', // mysql2's client-side query timeout (a stall)
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

// "Query read timeout" is pg's own query_timeout; the dialects' timeouts carry ETIMEDOUT /
// PROTOCOL_SEQUENCE_TIMEOUT (db/*/connect.ts).
const TRANSIENT_MESSAGES =
  /Connection terminated|connection (is )?closed|socket hang up|Client has encountered a connection error|Can't add new command when connection is in closed state|Query read timeout|timeout expired/i;

export function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ConnectionError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    if (e instanceof Error && TRANSIENT_MESSAGES.test(e.message)) return true;
  }
  return false;
}

/**
 * Runs `attempt` until it succeeds, a non-transient error, `stop()`, or the delays are used up; before
 * each retry `onRetry` is told why and how long the wait is.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  stop: () => boolean,
  onRetry: (error: unknown, waitMs: number, attempt: number) => void,
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const wait = RETRY_DELAYS_MS[i];
      if (wait === undefined || !isTransient(error) || stop()) throw error;
      onRetry(error, wait, i + 2);
      await sleep(wait);
    }
  }
}
