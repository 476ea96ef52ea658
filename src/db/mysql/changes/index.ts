/**
 * MySQL/MariaDB change capture (`run --follow`): the row binlog read with @vlasky/zongji. Nothing is created
 * on the source: a position is a binlog (file, pos), kept only in our state table, so `release` drops nothing.
 * The binlog must still hold the files from the start position on until cut-over (binlog_expire_logs_seconds).
 */

import type mysql from 'mysql2/promise';
import { RuntimeError } from '../../../errors.js';
import type { ChangeCapture, ChangeStream, FollowSpec } from '../../changes.js';
import type { MysqlSession } from '../connect.js';
import { BinlogStream } from './binlog-stream.js';
import { followerServerId, formatPosition, parsePosition, readPosition } from './position.js';
import { privilegeProblems, readSettings, settingProblems, tableProblems } from './settings.js';
import { compileTables } from './tables.js';

export class MysqlChangeCapture implements ChangeCapture {
  /**
   * `shared`: the dialect's own connection, for short queries; `connect`: a new connection (two per stream:
   * zongji's control and binlog connections).
   */
  constructor(
    private readonly shared: () => Promise<MysqlSession>,
    private readonly connect: () => Promise<MysqlSession>,
  ) {}

  async check(spec: FollowSpec): Promise<string[]> {
    const session = await this.shared();
    const settings = await readSettings(session, followerServerId(spec.plan));
    return [
      ...settingProblems(settings),
      ...(await privilegeProblems(session)),
      ...(await tableProblems(session, spec)),
    ];
  }

  async start(_spec: FollowSpec): Promise<string> {
    return this.current();
  }

  open(spec: FollowSpec, from: string): ChangeStream {
    const position = parsePosition(from);
    const shared = this.shared;
    return new BinlogStream({
      from: position,
      serverId: followerServerId(spec.plan),
      connect: this.connect,
      tables: async () =>
        compileTables(
          spec,
          spec.tables.some((t) => t.ref.schema === null) ? await database(await shared()) : '',
        ),
    });
  }

  async current(): Promise<string> {
    const session = await this.shared();
    return formatPosition(await readPosition(session.conn, session.mariadb));
  }

  async release(_spec: FollowSpec): Promise<void> {
    // Nothing was created on the source.
  }
}

async function database(session: MysqlSession): Promise<string> {
  const [rows] = await session.conn.query<mysql.RowDataPacket[]>('SELECT DATABASE() AS db');
  const db = rows[0]?.db;
  if (typeof db !== 'string' || db === '') {
    throw new RuntimeError('the source URL names no database, and a followed table names no schema', {
      hint: 'put the database in the URL path, or qualify the table as schema.table',
    });
  }
  return db;
}
