/**
 * The contract between the client and its store and get passes: what a pass asks of the cache it runs for,
 * and what it reports back for the client's retries.
 */

/** What a pass reads of the cache it runs for: its batch sizes and window, and where messages go. */
export interface PassContext {
  /** Requests in flight per server. */
  requestWindow(): number;
  /** Keys per multi-get request. */
  multiGetKeys(): number;
  /** Entries per multi-store request. */
  multiStoreKeys(): number;
  note(message: string): void;
}

/** What one pass over a server's entries did not get through: `retry` for a server reason, `failed` for good. */
export interface PassFailures {
  retry: number[];
  failed: number[];
  /** The last server failure, for the message when retries are spent. */
  error: string;
  /** The first key refused for a key reason and why, for one message per pass. */
  refused: string;
}

export function newPassFailures(): PassFailures {
  return { retry: [], failed: [], error: '', refused: '' };
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
