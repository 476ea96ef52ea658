/**
 * better-sqlite3 connections. Its API is synchronous: a statement runs to completion inside one call, so a
 * transaction made of synchronous calls can never interleave with other work of this process. One
 * connection per dialect therefore serves the reads, the writers and the state store; the only transaction
 * that spans `await`s (a key-less table's whole-table copy) holds {@link SqliteConnection}'s lock, and every
 * other transaction waits for it instead of failing on SQLITE_BUSY. Other processes are kept out by SQLite's
 * own locking: every write transaction is `BEGIN IMMEDIATE`, waiting up to {@link BUSY_TIMEOUT_MS}.
 */
import Database from 'better-sqlite3';
import { ConnectionError, RuntimeError } from '../../errors.js';

export type Db = Database.Database;
export type Statement = Database.Statement<unknown[], unknown>;

/** How long a write waits for another process's write transaction (SQLite's busy_timeout). */
const BUSY_TIMEOUT_MS = 10_000;

export function openSqlite(path: string, display: string, options: { readonly?: boolean } = {}): Db {
  try {
    const db = new Database(path, {
      fileMustExist: true,
      readonly: options.readonly ?? false,
      timeout: BUSY_TIMEOUT_MS,
    });
    // INTEGER cells as BigInt: 64-bit values stay exact (codec.ts turns them into digit strings).
    db.defaultSafeIntegers(true);
    return db;
  } catch (error) {
    throw new ConnectionError(display, `cannot open the SQLite database file ${path}: ${describe(error)}`, {
      cause: error,
      hint: 'check the path (a relative path is relative to the current directory); the file must exist',
    });
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

export function sqliteCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** A FIFO async lock. */
class Lock {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = this.tail;
    this.tail = before.then(() => held);
    return before.then(() => release);
  }
}

export class SqliteConnection {
  private readonly lock = new Lock();

  constructor(
    readonly db: Db,
    readonly display: string,
  ) {}

  /** Runs `work` (synchronous) in one `BEGIN IMMEDIATE` transaction: it commits, or it rolls back and throws. */
  async transaction<T>(work: () => T): Promise<T> {
    const release = await this.lock.acquire();
    try {
      this.begin();
      try {
        const result = work();
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        this.rollback();
        throw error;
      }
    } finally {
      release();
    }
  }

  /**
   * Opens a transaction that stays open across `await`s, until `commit` or `rollback` of the handle; every
   * other transaction of this connection waits for it.
   */
  async open(): Promise<OpenTransaction> {
    const release = await this.lock.acquire();
    try {
      this.begin();
    } catch (error) {
      release();
      throw error;
    }
    let done = false;
    const end = (commit: boolean) => {
      if (done) return;
      done = true;
      try {
        if (commit) this.db.exec('COMMIT');
      } finally {
        // A failed COMMIT leaves the transaction open: roll it back too.
        this.rollback();
        release();
      }
    };
    return { commit: () => end(true), rollback: () => end(false) };
  }

  private begin(): void {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      if (!sqliteCode(error).startsWith('SQLITE_BUSY')) throw error;
      throw new RuntimeError(
        `${this.display}: the database stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000}s`,
        { cause: error, hint: 'another program is writing to this SQLite file; run again when it is done' },
      );
    }
  }

  private rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export interface OpenTransaction {
  commit(): void;
  rollback(): void;
}
