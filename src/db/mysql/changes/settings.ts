/**
 * What following a MySQL/MariaDB source needs (ChangeCapture.check), each problem saying what to set:
 * - the row binlog with full row images AND full row metadata: without `binlog_row_metadata=FULL` (MariaDB
 *   10.5+, MySQL 8.0.1+) column names are looked up when an event is read, not when it was written, so rows
 *   written before an ALTER come out under the wrong columns;
 * - MySQL 8: no transaction compression, no partial JSON updates (the reader cannot decode either);
 * - a server_id, and not the one our follower announces;
 * - REPLICATION SLAVE (to read the binlog) and REPLICATION CLIENT (MariaDB: BINLOG MONITOR) for the position;
 * - a primary key on each table, and column types the reader decodes as the copy reads them.
 */
import type mysql from 'mysql2/promise';
import type { FollowSpec } from '../../changes.js';
import { formatTableRef } from '../../table.js';
import type { MysqlSession } from '../connect.js';
import { describeTable } from '../introspect.js';
import { readPosition } from './position.js';
import { unfollowable } from './values.js';

/** The server's settings as read (null: the server has no such variable). */
export interface BinlogSettings {
  mariadb: boolean;
  logBin: string;
  format: string;
  rowImage: string;
  rowMetadata: string | null;
  compression: string | null;
  valueOptions: string | null;
  serverId: number;
  /** The id our binlog connection announces. */
  followerId: number;
}

const SET = (mariadb: boolean, name: string, value: string): string =>
  `set ${name}=${value} (SET GLOBAL ${name} = ${value}${mariadb ? '' : ' and SET PERSIST'}, and in the server's configuration)`;

export function settingProblems(s: BinlogSettings): string[] {
  const problems: string[] = [];
  const on = (v: string | null) => v !== null && /^(1|on)$/i.test(v);
  if (!on(s.logBin)) {
    problems.push(
      'the server writes no binary log: start it with log_bin (e.g. --log-bin) to follow changes',
    );
  }
  if (s.format.toUpperCase() !== 'ROW') {
    problems.push(`binlog_format is ${s.format}: ${SET(s.mariadb, 'binlog_format', 'ROW')}`);
  }
  if (s.rowImage.toUpperCase() !== 'FULL') {
    problems.push(`binlog_row_image is ${s.rowImage}: ${SET(s.mariadb, 'binlog_row_image', 'FULL')}`);
  }
  if (s.rowMetadata === null) {
    problems.push(
      'the server has no binlog_row_metadata (MariaDB 10.5+ or MySQL 8.0.1+ needed): without it rows ' +
        'written before a schema change are read under the wrong columns',
    );
  } else if (s.rowMetadata.toUpperCase() !== 'FULL') {
    problems.push(
      `binlog_row_metadata is ${s.rowMetadata}: ${SET(s.mariadb, 'binlog_row_metadata', 'FULL')}; only ` +
        'changes written after it can be followed',
    );
  }
  if (on(s.compression)) {
    problems.push(
      `binlog_transaction_compression is ON: ${SET(false, 'binlog_transaction_compression', 'OFF')}`,
    );
  }
  if (s.valueOptions !== null && s.valueOptions !== '') {
    problems.push(
      `binlog_row_value_options is ${s.valueOptions}: ${SET(false, 'binlog_row_value_options', "''")}`,
    );
  }
  if (s.serverId === 0) problems.push('server_id is 0: give the server a server_id (e.g. --server-id=1)');
  if (s.serverId === s.followerId) {
    problems.push(
      `server_id ${s.serverId} is the id the follower of this plan announces: give the server another server_id`,
    );
  }
  return problems;
}

async function variable(conn: mysql.Connection, name: string): Promise<string | null> {
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT @@GLOBAL.${name} AS v`);
    const v = rows[0]?.v;
    return v === null || v === undefined ? '' : String(v);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ER_UNKNOWN_SYSTEM_VARIABLE') return null;
    throw error;
  }
}

export async function readSettings(session: MysqlSession, followerId: number): Promise<BinlogSettings> {
  const read = (name: string) => variable(session.conn, name);
  return {
    mariadb: session.mariadb,
    logBin: (await read('log_bin')) ?? '',
    format: (await read('binlog_format')) ?? '',
    rowImage: (await read('binlog_row_image')) ?? '',
    rowMetadata: await read('binlog_row_metadata'),
    compression: session.mariadb ? null : await read('binlog_transaction_compression'),
    valueOptions: session.mariadb ? null : await read('binlog_row_value_options'),
    serverId: Number((await read('server_id')) ?? 0),
    followerId,
  };
}

const DENIED = new Set([
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
]);

/** REPLICATION SLAVE from the user's privileges; REPLICATION CLIENT by reading the position. */
export async function privilegeProblems(session: MysqlSession): Promise<string[]> {
  const problems: string[] = [];
  const [rows] = await session.conn.query<mysql.RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM information_schema.USER_PRIVILEGES
     WHERE PRIVILEGE_TYPE IN ('REPLICATION SLAVE', 'REPLICATION REPLICA')
       AND GRANTEE = CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'",
                            SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")`,
  );
  if (Number(rows[0]?.n ?? 0) === 0) {
    problems.push(
      'the user lacks REPLICATION SLAVE (needed to read the binlog): GRANT REPLICATION SLAVE ON *.* TO …',
    );
  }
  try {
    await readPosition(session.conn, session.mariadb);
  } catch (error) {
    if (!DENIED.has(String((error as { code?: unknown }).code))) throw error;
    const grant = session.mariadb ? 'BINLOG MONITOR' : 'REPLICATION CLIENT';
    problems.push(`the user lacks ${grant} (needed to read the binlog position): GRANT ${grant} ON *.* TO …`);
  }
  return problems;
}

/** A table missing, without primary key, or with a column type that cannot be followed yet. */
export async function tableProblems(session: MysqlSession, spec: FollowSpec): Promise<string[]> {
  const problems: string[] = [];
  for (const table of spec.tables) {
    const name = formatTableRef(table.ref);
    const info = await describeTable(session, table.ref);
    if (!info) {
      problems.push(`table ${name} does not exist (or the user cannot see it)`);
      continue;
    }
    if (!info.primaryKey) {
      problems.push(
        `table ${name} has no primary key: its changes cannot be matched to target rows; add one to follow it`,
      );
    }
    for (const column of table.columns) {
      const why = unfollowable(column);
      if (why) problems.push(`table ${name}: ${why} cannot be followed yet`);
    }
  }
  return problems;
}
