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
 */
import mysql from 'mysql2/promise';
import { ConnectionError, maskUrl } from '../../errors.js';

export const SQL_MODE =
  'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_AUTO_VALUE_ON_ZERO,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

export interface MysqlSession {
  conn: mysql.Connection;
  mariadb: boolean;
  version: string;
  /** The server's max_allowed_packet: no statement may be longer. */
  maxPacket: number;
}

export async function connectMysql(url: string): Promise<MysqlSession> {
  let conn: mysql.Connection | null = null;
  try {
    conn = await mysql.createConnection({
      uri: url,
      charset: 'UTF8MB4_GENERAL_CI',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      decimalNumbers: false,
      timezone: 'Z',
      connectTimeout: 10_000,
      multipleStatements: false,
      // Statements of literals (multi-row INSERTs of megabytes) skip mysql2's placeholder scan.
      queryFormat: (sql: string, values: unknown) =>
        values === undefined || (Array.isArray(values) && values.length === 0)
          ? sql
          : mysql.format(sql, values as never, false, 'Z'),
    });
    // A connection that dies later must not crash the process through an unhandled 'error' event: the
    // query in flight fails with it and the engine reports that.
    conn.on('error', () => undefined);
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
    throw new ConnectionError(maskUrl(url), `cannot connect to MySQL/MariaDB: ${describe(error)}`, {
      cause: error,
      hint: 'check that the server is running, and the host, port, user, password and database in the URL',
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

/** Ends a connection, forcibly when a polite end fails (e.g. in the middle of a streamed result). */
export async function endQuietly(conn: mysql.Connection): Promise<void> {
  try {
    await conn.end();
  } catch {
    conn.destroy();
  }
}
