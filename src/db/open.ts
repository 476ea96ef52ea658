/** Picks the dialect for a URL by its scheme. */
import { maskUrl, UsageError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { MysqlDialect } from './mysql/index.js';
import { PostgresDialect } from './postgres/index.js';
import { SqliteDialect } from './sqlite/index.js';

export function openDialect(url: string): Dialect {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return new PostgresDialect(url);
    case 'mysql':
    case 'mariadb':
      return new MysqlDialect(url);
    case 'sqlite':
      return new SqliteDialect(url);
    default:
      throw new UsageError(`${maskUrl(url)}: unsupported database URL scheme "${scheme}"`, {
        hint: 'use postgres://, mysql:// or mariadb://',
      });
  }
}

/**
 * Checks every connection; waits for all of them (so none is left half-open when one fails) and throws
 * the first failure.
 */
export async function pingAll(dialects: readonly Dialect[]): Promise<void> {
  const results = await Promise.allSettled(dialects.map((d) => d.ping()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
