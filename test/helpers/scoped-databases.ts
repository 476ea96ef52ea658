// Per-test databases that are dropped after each test: `const { pgDb, mysqlDb } = scopedDatabases();`
// at the top of a test file.
import { afterEach } from 'vitest';
import {
  createMysqlDatabase,
  createPgDatabase,
  type MysqlTestDatabase,
  type PgTestDatabase,
} from './databases.js';

export function scopedDatabases(): {
  pgDb: (name: string) => Promise<PgTestDatabase>;
  mysqlDb: (name: string) => Promise<MysqlTestDatabase>;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((drop) => drop()));
  });
  return {
    async pgDb(name) {
      const db = await createPgDatabase(name);
      cleanups.push(() => db.drop());
      return db;
    },
    async mysqlDb(name) {
      const db = await createMysqlDatabase(name);
      cleanups.push(() => db.drop());
      return db;
    },
  };
}
