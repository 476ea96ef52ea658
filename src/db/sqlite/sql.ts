/** Identifier quoting for SQLite: every identifier the tool sends is quoted, whatever the plan says. */

import type { FragmentSyntax } from '../sql-fragment.js';
import type { TableRef } from '../table.js';

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema` is an attached database name (`main`, `temp`, ...). */
export function quoteTable(ref: TableRef): string {
  return ref.schema ? `${quoteIdent(ref.schema)}.${quoteIdent(ref.name)}` : quoteIdent(ref.name);
}

export function columnList(names: readonly string[], alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return names.map((n) => prefix + quoteIdent(n)).join(', ');
}

/** `?, ?, ?` */
export function placeholders(n: number): string {
  return n === 1 ? '?' : `?${', ?'.repeat(n - 1)}`;
}

/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER (since 3.32): parameters per statement. */
export const MAX_PARAMS = 32766;

/** How SQLite reads a plan's raw SQL (sql-fragment.ts). */
export const FRAGMENT_SYNTAX: FragmentSyntax = {
  name: 'SQLite',
  strings: "'",
  backslash: 'never',
  identifiers: { '"': '"', '`': '`', '[': ']' },
  dashNeedsSpace: false,
  hashComment: false,
  nestedComments: false,
  executableComments: false,
  dollarQuotes: false,
  parameter: /^(?:\?[0-9]*|[:@$][\p{L}\p{N}_]+)/u,
};
