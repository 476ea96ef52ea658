/** Identifier quoting for PostgreSQL: every identifier the tool sends is quoted, whatever the plan says. */

import type { FragmentSyntax } from '../sql-fragment.js';
import type { TableRef } from '../table.js';

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteTable(ref: TableRef): string {
  return ref.schema ? `${quoteIdent(ref.schema)}.${quoteIdent(ref.name)}` : quoteIdent(ref.name);
}

export function columnList(names: readonly string[], alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return names.map((n) => prefix + quoteIdent(n)).join(', ');
}

/** How PostgreSQL reads a plan's raw SQL (sql-fragment.ts); connect.ts fixes standard_conforming_strings on. */
export const FRAGMENT_SYNTAX: FragmentSyntax = {
  name: 'PostgreSQL',
  strings: "'",
  backslash: 'e-prefix',
  identifiers: { '"': '"' },
  dashNeedsSpace: false,
  hashComment: false,
  nestedComments: true,
  executableComments: false,
  dollarQuotes: true,
  parameter: /^\$[0-9]+/,
};
