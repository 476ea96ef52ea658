/** Picks the dialect for a URL by its scheme. */
import { maskUrl, NotYetError, UsageError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { PostgresDialect } from './postgres/index.js';

export function openDialect(url: string): Dialect {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return new PostgresDialect(url);
    case 'mysql':
    case 'mariadb':
      throw new NotYetError('MySQL/MariaDB as a source or target');
    case 'sqlite':
      throw new NotYetError('SQLite as a source or target');
    default:
      throw new UsageError(`${maskUrl(url)}: unsupported database URL scheme "${scheme}"`, {
        hint: 'use postgres://, mysql:// or mariadb://',
      });
  }
}
