/**
 * Connections to MySQL/MariaDB (mysql2, promise API). The session is fixed so that text forms are exact and
 * zone-independent and the server never silently bends a value:
 * - `time_zone = '+00:00'`: TIMESTAMP values are read and written as UTC, whatever the server's zone;
 * - utf8mb4 on the wire;
 * - sql_mode `STRICT_ALL_TABLES` (errors instead of truncation/clamping, for every engine),
 *   `NO_ZERO_DATE` + `NO_ZERO_IN_DATE` (a zero date is never written: converters turn them into an error or
 *   NULL), `NO_AUTO_VALUE_ON_ZERO` (an id of 0 is stored as 0, not replaced by the next AUTO_INCREMENT),
 *   `ERROR_FOR_DIVISION_BY_ZERO`, `NO_ENGINE_SUBSTITUTION`; and NOT `NO_BACKSLASH_ESCAPES` (sql.ts relies
 *   on backslash escapes) nor `ANSI_QUOTES`/`PAD_CHAR_TO_FULL_LENGTH`;
 * - READ COMMITTED: fewer gap locks between concurrent workers; every batch is its own transaction.
 *
 * Timeouts, so that a stalled network or server is noticed instead of waited on forever:
 * - TCP keepalive (first probe after 30 s idle): a peer that vanished is noticed even on an idle connection.
 * - Connect timeout: 10 s (or the query timeout, when that is shorter) for TCP connect, TLS and login, per
 *   attempt: ssl-mode PREFERRED makes a plain second attempt when the server offers no TLS (tls.ts).
 * - Query timeout, client-side (mysql2's per-query `timeout`, given to every `query`/`execute` of the
 *   connection): a statement without its answer after `MIGRATE_QUERY_TIMEOUT_MS` milliseconds (default
 *   120000: far more than the biggest batch needs; the environment variable exists for tests and unusually
 *   slow servers; 0 switches it off) fails with `PROTOCOL_SEQUENCE_TIMEOUT` AND ends its connection: the
 *   statement may still run in the server, so the connection must not be reused, and dropping it fails
 *   whatever was queued behind it at once. The engine's retry (engine/retry.ts) takes that for a lost
 *   connection: the batch's transaction rolls back and the chunk resumes from its checkpoint.
 *   The streamed single pass over a key-less table (read.ts, on the core connection) is exempt: its life is
 *   the copy of a whole table; keepalive still catches a dead peer there.
 * - Ending a connection is bounded: mysql2's end() and destroy() only half-close the socket, which a stalled
 *   peer never completes; the socket is closed if it is still open 2 s later, so a run that gives up exits.
 */
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'mysql2';
import mysql from 'mysql2/promise';
import { ConnectionError } from '../../errors.js';
import { maskUrl } from '../../secrets.js';
import { withUrl } from '../tls-check.js';
import { tlsFailureHint } from '../tls-files.js';
import { connectCheckingHost } from './host-check.js';
import { fallsBack, type MysqlTls, mysqlTls } from './tls.js';

const DEFAULT_QUERY_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 10_000;
const KEEPALIVE_DELAY_MS = 30_000;
const END_GRACE_MS = 2_000;

/** The client-side query timeout in ms (0: none), from `MIGRATE_QUERY_TIMEOUT_MS`; see the top of this file. */
function queryTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MIGRATE_QUERY_TIMEOUT_MS?.trim();
  const n = raw ? Number(raw) : Number.NaN;
  // setTimeout's limit is 2^31-1 ms; anything unreadable falls back to the default.
  return Number.isInteger(n) && n >= 0 && n < 2 ** 31 ? n : DEFAULT_QUERY_TIMEOUT_MS;
}

const SQL_MODE =
  'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_AUTO_VALUE_ON_ZERO,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

export interface MysqlSession {
  conn: mysql.Connection;
  mariadb: boolean;
  version: string;
  /** The server's max_allowed_packet: no statement may be longer. */
  maxPacket: number;
}

export async function connectMysql(url: string): Promise<MysqlSession> {
  const timeout = queryTimeoutMs();
  const connectTimeout = timeout > 0 ? Math.min(CONNECT_TIMEOUT_MS, timeout) : CONNECT_TIMEOUT_MS;
  // Bad TLS options are the user's mistake (exit 2), found before any connection is tried.
  const tls = withUrl(url, () => mysqlTls(url));
  try {
    return await connectOnce(tls, timeout, connectTimeout);
  } catch (error) {
    if (!fallsBack(tls.mode, error)) throw connectionError(url, error, connectTimeout);
  }
  try {
    return await connectOnce({ uri: tls.uri, mode: tls.mode }, timeout, connectTimeout);
  } catch (error) {
    throw connectionError(url, error, connectTimeout);
  }
}

function connectionError(url: string, error: unknown, connectTimeout: number): ConnectionError {
  const e = error as { code?: unknown; syscall?: unknown };
  const why =
    e.code === 'ETIMEDOUT' && e.syscall === 'connect'
      ? `no answer within ${connectTimeout} ms (connect timeout)`
      : describe(error);
  // mysql2 reports every TLS failure of the handshake (host-check.ts's included) under this one code.
  const tls = e.code === 'HANDSHAKE_SSL_ERROR';
  return new ConnectionError(maskUrl(url), `cannot connect to MySQL/MariaDB: ${why}`, {
    cause: error,
    hint: tls
      ? tlsFailureHint('the ssl-mode', 'ssl-ca')
      : 'check that the server is running, and the host, port, user, password and database in the URL',
  });
}

/** One connection, with `tls.ssl` or (undefined) plain. */
async function connectOnce(tls: MysqlTls, timeout: number, connectTimeout: number): Promise<MysqlSession> {
  let conn: mysql.Connection | null = null;
  try {
    const options: ConnectionOptions = {
      uri: tls.uri,
      ...(tls.ssl ? { ssl: tls.ssl } : {}),
      charset: 'UTF8MB4_GENERAL_CI',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      decimalNumbers: false,
      timezone: 'Z',
      connectTimeout,
      enableKeepAlive: true,
      keepAliveInitialDelay: KEEPALIVE_DELAY_MS,
      multipleStatements: false,
      // Statements of literals (multi-row INSERTs of megabytes) skip mysql2's placeholder scan.
      queryFormat: (sql: string, values: unknown) =>
        values === undefined || (Array.isArray(values) && values.length === 0)
          ? sql
          : mysql.format(sql, values as never, false, 'Z'),
    };
    conn = await (tls.ssl && tls.checkHost !== undefined
      ? connectCheckingHost(options, tls.checkHost)
      : mysql.createConnection(options));
    // A connection that dies later must not crash the process through an unhandled 'error' event: the
    // query in flight fails with it and the engine reports that.
    conn.on('error', () => undefined);
    guard(conn, timeout);
    await conn.query(
      `SET time_zone = '+00:00', sql_mode = '${SQL_MODE}', net_read_timeout = 600, net_write_timeout = 600`,
    );
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      'SELECT VERSION() AS version, @@max_allowed_packet AS max_packet',
    );
    const version = String(rows[0]?.version ?? '');
    return {
      conn,
      version,
      mariadb: /mariadb/i.test(version),
      maxPacket: Number(rows[0]?.max_packet ?? 4 * 1024 * 1024),
    };
  } catch (error) {
    if (conn) await conn.end().catch(() => conn?.destroy());
    throw error;
  }
}

/** The core connection's socket (mysql2 keeps it as `stream`). */
function socketOf(conn: mysql.Connection): Socket | undefined {
  return (conn as unknown as { connection?: { stream?: Socket } }).connection?.stream;
}

/** Installs the query timeout and the bounded end described at the top of this file. */
function guard(conn: mysql.Connection, timeoutMs: number): void {
  const drop = () => socketOf(conn)?.destroy();
  const dropLater = () => {
    const socket = socketOf(conn);
    if (!socket || socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), END_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
  const end = conn.end.bind(conn);
  conn.end = (async (options?: unknown) => {
    try {
      await end(options);
    } finally {
      dropLater();
    }
  }) as typeof conn.end;
  const destroy = conn.destroy.bind(conn);
  conn.destroy = () => {
    destroy();
    dropLater();
  };
  if (timeoutMs <= 0) return;

  const withTimeout = (sql: unknown): unknown => {
    if (typeof sql === 'string') return { sql, timeout: timeoutMs };
    if (sql && typeof sql === 'object' && (sql as { timeout?: unknown }).timeout === undefined) {
      return { ...sql, timeout: timeoutMs };
    }
    return sql;
  };
  const onError = (error: unknown): never => {
    if ((error as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT' && error instanceof Error) {
      error.message =
        `no answer from MySQL/MariaDB within ${timeoutMs} ms (query timeout, MIGRATE_QUERY_TIMEOUT_MS): ` +
        'the network or the server stalled; the connection was dropped';
      drop();
    }
    throw error;
  };
  type Run = (sql: unknown, values?: unknown) => Promise<unknown>;
  const query = conn.query.bind(conn) as unknown as Run;
  const execute = conn.execute.bind(conn) as unknown as Run;
  conn.query = ((sql: unknown, values?: unknown) =>
    (values === undefined ? query(withTimeout(sql)) : query(withTimeout(sql), values)).catch(
      onError,
    )) as unknown as typeof conn.query;
  conn.execute = ((sql: unknown, values?: unknown) =>
    (values === undefined ? execute(withTimeout(sql)) : execute(withTimeout(sql), values)).catch(
      onError,
    )) as unknown as typeof conn.execute;
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** Ends a connection, forcibly when a polite end fails (e.g. in the middle of a streamed result). */
export async function endQuietly(conn: mysql.Connection): Promise<void> {
  try {
    await conn.end();
  } catch {
    conn.destroy();
  }
}
