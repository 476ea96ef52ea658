/**
 * Binlog positions as the engine stores them: the JSON text `{"file":"binlog.000002","pos":1234}`, the end of
 * a commit (reading resumes with the next transaction) or the server's end at a moment. And the server id our
 * binlog connection announces: the server disconnects a second connection with the same id, and a replica
 * with its own id, so each plan's follower takes one of its own (see followerServerId).
 */
import { createHash } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { RuntimeError } from '../../../errors.js';

export interface BinlogPosition {
  file: string;
  pos: number;
}

export function formatPosition(position: BinlogPosition): string {
  return JSON.stringify({ file: position.file, pos: position.pos });
}

export function parsePosition(text: string): BinlogPosition {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = null;
  }
  const { file, pos } = (value ?? {}) as { file?: unknown; pos?: unknown };
  if (typeof file !== 'string' || file === '' || !Number.isSafeInteger(pos) || (pos as number) < 4) {
    throw new RuntimeError(`not a MySQL/MariaDB binlog position: ${text.slice(0, 100)}`, {
      hint: 'the position comes from the state table; if it was edited by hand, restart the follow',
    });
  }
  return { file, pos: pos as number };
}

/** `SHOW BINARY LOG STATUS` (MySQL 8.2+) or `SHOW MASTER STATUS` (MariaDB, older MySQL): the binlog's end. */
export async function readPosition(conn: mysql.Connection, mariadb: boolean): Promise<BinlogPosition> {
  let rows: mysql.RowDataPacket[];
  if (mariadb) [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
  else {
    try {
      [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOG STATUS');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ER_PARSE_ERROR') throw error;
      [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    }
  }
  const row = rows[0];
  if (!row) {
    throw new RuntimeError('the MySQL/MariaDB server writes no binary log', {
      hint: 'start the server with log_bin (and binlog_format=ROW) to follow its changes',
    });
  }
  return { file: String(row.File), pos: Number(row.Position) };
}

/** The range our followers' server ids are taken from: [FIRST, FIRST + COUNT). */
export const FOLLOWER_IDS = { first: 3_000_000_000, count: 2 ** 24 } as const;

/**
 * The server id of a plan's binlog connection: FOLLOWER_IDS.first + (the first 3 bytes of SHA-256(plan)),
 * the same for every run of the plan and far from the small ids servers and replicas usually get.
 */
export function followerServerId(plan: string): number {
  return FOLLOWER_IDS.first + createHash('sha256').update(plan).digest().readUIntBE(0, 3);
}
