/**
 * Picks the dialect for a URL by its scheme. A dialect's module (and its driver) is loaded only when a URL
 * asks for it: a PostgreSQL-only run does not spend its start-up loading mysql2 and better-sqlite3.
 */
import { UsageError } from '../errors.js';
import { maskUrl } from '../secrets.js';
import type { Dialect } from './dialect.js';
import { FRAGMENT_SYNTAX as MYSQL_SYNTAX } from './mysql/sql.js';
import { FRAGMENT_SYNTAX as POSTGRES_SYNTAX } from './postgres/sql.js';
import { type FragmentKind, type FragmentProblem, fragmentProblem } from './sql-fragment.js';
import { FRAGMENT_SYNTAX as SQLITE_SYNTAX } from './sqlite/sql.js';

export async function openDialect(url: string): Promise<Dialect> {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return new (await import('./postgres/index.js')).PostgresDialect(url);
    case 'mysql':
    case 'mariadb':
      return new (await import('./mysql/index.js')).MysqlDialect(url);
    case 'sqlite':
      return new (await import('./sqlite/index.js')).SqliteDialect(url);
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

/**
 * The first problem of a plan's raw SQL (`where`, `source: { query }`) for the database of `url`, found without
 * connecting (sql-fragment.ts); null when it is fine, or when the URL names no database known here.
 */
export function sourceSqlProblem(url: string, text: string, kind: FragmentKind): FragmentProblem | null {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  const syntax =
    scheme === 'postgres' || scheme === 'postgresql'
      ? POSTGRES_SYNTAX
      : scheme === 'mysql' || scheme === 'mariadb'
        ? MYSQL_SYNTAX
        : scheme === 'sqlite'
          ? SQLITE_SYNTAX
          : null;
  return syntax ? fragmentProblem(text, syntax, kind) : null;
}
