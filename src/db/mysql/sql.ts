/**
 * Identifier quoting and SQL literals for MySQL/MariaDB. Every identifier is quoted with backticks (a backtick
 * inside is doubled); values are sent as literals built here, never spliced in raw. The session's sql_mode
 * (connect.ts) never contains NO_BACKSLASH_ESCAPES, so backslash escapes in string literals are safe.
 */

import type { FragmentSyntax } from '../sql-fragment.js';
import type { TableRef } from '../table.js';

export function quoteIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

export function quoteTable(ref: TableRef): string {
  return ref.schema ? `${quoteIdent(ref.schema)}.${quoteIdent(ref.name)}` : quoteIdent(ref.name);
}

export function columnList(names: readonly string[], alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return names.map((n) => prefix + quoteIdent(n)).join(', ');
}

const SPECIAL = /[\0\b\t\n\r\x1a"'\\]/;
const SPECIAL_ALL = /[\0\b\t\n\r\x1a"'\\]/g;
const ESCAPES: Record<string, string> = {
  '\0': '\\0',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\x1a': '\\Z',
  '"': '\\"',
  "'": "\\'",
  '\\': '\\\\',
};

/** A string literal: `'…'` with MySQL's backslash escapes. */
export function stringLiteral(value: string): string {
  return SPECIAL.test(value) ? `'${value.replace(SPECIAL_ALL, (c) => ESCAPES[c]!)}'` : `'${value}'`;
}

/** A binary string literal: `X'…'` (exact bytes, whatever the connection's character set). */
export function bytesLiteral(value: Buffer): string {
  return `X'${value.toString('hex')}'`;
}

/**
 * How MySQL and MariaDB read a plan's raw SQL (sql-fragment.ts), under the session's sql_mode (connect.ts:
 * backslash escapes, `"` quotes strings).
 */
export const FRAGMENT_SYNTAX: FragmentSyntax = {
  name: 'MySQL',
  strings: `'"`,
  backslash: 'always',
  identifiers: { '`': '`' },
  dashNeedsSpace: true,
  hashComment: true,
  nestedComments: false,
  executableComments: true,
  dollarQuotes: false,
  parameter: /^\?/,
};
