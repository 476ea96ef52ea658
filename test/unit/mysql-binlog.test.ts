// The pure parts of MySQL/MariaDB change capture: the settings' messages (for settings the shared test server
// cannot be switched to), the follower's server id, positions, column shapes and DDL detection.
import { describe, expect, it } from 'vitest';
import type { Column } from '../../src/convert/value.js';
import {
  FOLLOWER_IDS,
  followerServerId,
  formatPosition,
  parsePosition,
} from '../../src/db/mysql/changes/position.js';
import { type BinlogSettings, settingProblems } from '../../src/db/mysql/changes/settings.js';
import { compileTables, ddlEffect } from '../../src/db/mysql/changes/tables.js';
import { columnShape } from '../../src/db/mysql/changes/values.js';
import { RuntimeError } from '../../src/errors.js';

const good: BinlogSettings = {
  mariadb: true,
  logBin: '1',
  format: 'ROW',
  rowImage: 'FULL',
  rowMetadata: 'FULL',
  compression: null,
  valueOptions: null,
  serverId: 1,
  followerId: followerServerId('p'),
};

describe('binlog settings', () => {
  it('finds nothing wrong with the row binlog, full images and full metadata', () => {
    expect(settingProblems(good)).toEqual([]);
    expect(
      settingProblems({
        ...good,
        logBin: 'ON',
        format: 'row',
        mariadb: false,
        compression: 'OFF',
        valueOptions: '',
      }),
    ).toEqual([]);
  });

  it('says what to set for each setting that prevents following', () => {
    const problems = settingProblems({
      ...good,
      logBin: '0',
      format: 'MIXED',
      rowImage: 'MINIMAL',
      rowMetadata: 'NO_LOG',
      serverId: 0,
    });
    expect(problems).toEqual([
      expect.stringMatching(/writes no binary log: start it with log_bin/),
      expect.stringMatching(/binlog_format is MIXED: set binlog_format=ROW \(SET GLOBAL binlog_format = ROW/),
      expect.stringMatching(/binlog_row_image is MINIMAL: set binlog_row_image=FULL/),
      expect.stringMatching(
        /binlog_row_metadata is NO_LOG: set binlog_row_metadata=FULL.*only changes written after it/,
      ),
      expect.stringMatching(/server_id is 0/),
    ]);
  });

  it('refuses a server without binlog_row_metadata, MySQL 8 compression and partial JSON, and our own id', () => {
    expect(settingProblems({ ...good, rowMetadata: null })).toEqual([
      expect.stringMatching(/no binlog_row_metadata \(MariaDB 10.5\+ or MySQL 8.0.1\+ needed\)/),
    ]);
    expect(
      settingProblems({ ...good, mariadb: false, compression: 'ON', valueOptions: 'PARTIAL_JSON' }),
    ).toEqual([
      expect.stringMatching(/binlog_transaction_compression is ON: set binlog_transaction_compression=OFF/),
      expect.stringMatching(/binlog_row_value_options is PARTIAL_JSON/),
    ]);
    expect(settingProblems({ ...good, serverId: good.followerId })).toEqual([
      expect.stringMatching(/is the id the follower of this plan announces/),
    ]);
  });
});

describe('binlog positions and the follower id', () => {
  it('round-trips a position and refuses text that is not one', () => {
    const p = { file: 'binlog.000002', pos: 811 };
    expect(formatPosition(p)).toBe('{"file":"binlog.000002","pos":811}');
    expect(parsePosition(formatPosition(p))).toEqual(p);
    for (const bad of [
      '',
      'x',
      '{"file":"b"}',
      '{"file":"","pos":5}',
      '{"file":"b","pos":1.5}',
      '{"file":"b","pos":2}',
    ]) {
      expect(() => parsePosition(bad)).toThrow(RuntimeError);
    }
  });

  it('takes a stable id per plan from its documented range', () => {
    const ids = ['orders', 'orders2', 'a', ''].map(followerServerId);
    expect(followerServerId('orders')).toBe(ids[0]);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) {
      expect(id).toBeGreaterThanOrEqual(FOLLOWER_IDS.first);
      expect(id).toBeLessThan(FOLLOWER_IDS.first + FOLLOWER_IDS.count);
      expect(id).toBeLessThan(2 ** 32);
    }
  });
});

describe('column shapes', () => {
  it('keeps what changes values and drops widths, lengths and enum lists', () => {
    expect(columnShape('int(11)')).toBe('int');
    expect(columnShape('bigint(20) unsigned zerofill')).toBe('bigint unsigned');
    expect(columnShape('bigint unsigned', false)).toBe('bigint');
    expect(columnShape('tinyint(1)')).toBe('tinyint');
    expect(columnShape('decimal(12,2)')).toBe('decimal(12,2)');
    expect(columnShape('decimal(10)')).toBe('decimal(10,0)');
    expect(columnShape('datetime')).toBe('datetime(0)');
    expect(columnShape('timestamp(6)')).toBe('timestamp(6)');
    expect(columnShape('bit(1)')).toBe('bit(1)');
    expect(columnShape('varchar(20)')).toBe('varchar');
    expect(columnShape("enum('a','b')")).toBe('enum');
    expect(columnShape('varchar(10) /*M!100301 COMPRESSED*/')).toBe('varchar');
  });
});

describe('DDL on followed tables', () => {
  const column: Column = { name: 'id', kind: 'int', dbType: 'int', nullable: false };
  const tables = compileTables(
    {
      plan: 'p',
      tables: [
        { ref: { schema: null, name: 'orders' }, columns: [column], key: [0] },
        { ref: { schema: 'shop', name: 'My Table' }, columns: [column], key: [0] },
      ],
    },
    'app',
  );

  it('names the followed tables a statement changes, broadly', () => {
    const hit = (q: string, schema = 'app') => {
      const effect = ddlEffect(tables, q, schema);
      return effect?.kind === 'schema' ? effect.tables.map((t) => t.display) : effect;
    };
    expect(hit('ALTER TABLE orders ADD COLUMN z int')).toEqual(['app.orders']);
    expect(hit('/* c */ alter table `app`.`ORDERS` drop column z')).toEqual(['app.orders']);
    expect(hit('RENAME TABLE `My Table` TO old', 'shop')).toEqual(['shop.My Table']);
    expect(hit('DROP TABLE IF EXISTS `orders` /* generated by server */')).toEqual(['app.orders']);
    expect(hit('DROP DATABASE shop')).toEqual(['shop.My Table']);
    expect(hit('ALTER TABLE other ADD COLUMN orders_count int')).toBeNull();
    expect(hit('INSERT INTO orders VALUES (1)')).toBeNull();
    expect(hit('CREATE TABLE t2 LIKE orders')).toEqual(['app.orders']);
  });

  it('takes a plain TRUNCATE of a followed table as emptying it', () => {
    expect(ddlEffect(tables, 'TRUNCATE TABLE orders', 'app')).toEqual({ kind: 'truncate', table: tables[0] });
    expect(ddlEffect(tables, 'truncate `shop`.`My Table`', 'app')).toEqual({
      kind: 'truncate',
      table: tables[1],
    });
    expect(ddlEffect(tables, 'TRUNCATE TABLE orders', 'elsewhere')).toBeNull();
  });
});
