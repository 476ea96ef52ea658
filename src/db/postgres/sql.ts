/** Identifier quoting for PostgreSQL: every identifier the tool sends is quoted, whatever the plan says. */
import type { TableRef } from '../dialect.js';

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
