/** Tables, columns, types and keys from pg_catalog. */
import type pg from 'pg';
import type { Column } from '../../convert/value.js';
import { encloseChecked } from '../sql-fragment.js';
import type { TableInfo, TableRef } from '../table.js';
import { kindOfPgType } from './codec.js';
import { FRAGMENT_SYNTAX, quoteTable } from './sql.js';

const COLUMNS_SQL = `
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS db_type,
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS typname,
       t.typtype AS typtype, NOT a.attnotnull AS nullable,
       (a.attnotnull OR t.typnotnull) AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
         AND t.typdefault IS NULL AS required
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;

const KEYS_SQL = `
SELECT i.indisprimary AS primary, array_agg(a.attname ORDER BY k.ord) AS cols,
       bool_and(a.attnotnull) AS not_null
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
GROUP BY i.indexrelid, i.indisprimary
ORDER BY i.indisprimary DESC, count(*), i.indexrelid`;

interface ColumnRow {
  name: string;
  db_type: string;
  typname: string;
  typtype: string;
  nullable: string;
  required: string;
}

export async function describeTable(client: pg.Client, ref: TableRef): Promise<TableInfo | null> {
  const qualified = quoteTable(ref);
  const found = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid AS oid', [qualified]);
  if (!found.rows[0]?.oid) return null;

  const cols = await client.query<ColumnRow>(COLUMNS_SQL, [qualified]);
  const columns: Column[] = cols.rows.map((r) => ({
    name: r.name,
    kind: r.typtype === 'e' ? 'text' : kindOfPgType(r.typname),
    dbType: r.db_type,
    nullable: r.nullable === 't',
    origin: 'postgres',
  }));
  const requiredColumns = cols.rows.filter((r) => r.required === 't').map((r) => r.name);

  const keys = await client.query<{ primary: string; cols: string; not_null: string }>(KEYS_SQL, [qualified]);
  let primaryKey: string[] | null = null;
  const uniqueKeys: string[][] = [];
  for (const k of keys.rows) {
    const names = parseTextArray(k.cols);
    if (k.primary === 't') primaryKey = names;
    else if (k.not_null === 't') uniqueKeys.push(names);
  }

  const est = await client.query<{ n: string }>(
    'SELECT reltuples::bigint AS n FROM pg_class WHERE oid = $1::regclass',
    [qualified],
  );
  let estimatedRows = Number(est.rows[0]?.n ?? -1);
  if (estimatedRows < 0) {
    // Never analysed: count exactly (cheap for the small tables this happens to).
    const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`);
    estimatedRows = Number(count.rows[0]?.n ?? 0);
  }
  return { ref, columns, primaryKey, uniqueKeys, requiredColumns, estimatedRows };
}

/** Columns of a query's result, learned without running it (LIMIT 0 over the query). */
export async function describeQuery(client: pg.Client, sql: string): Promise<Column[]> {
  const result = await client.query(
    `SELECT * FROM ${encloseChecked(sql, FRAGMENT_SYNTAX, 'query')} AS "_q" LIMIT 0`,
  );
  const oids = result.fields.map((f) => f.dataTypeID);
  const types = await client.query<{ oid: string; typname: string; db_type: string }>(
    'SELECT oid::text AS oid, typname, format_type(oid, NULL) AS db_type FROM pg_type WHERE oid = ANY($1::oid[])',
    [oids],
  );
  const byOid = new Map(types.rows.map((t) => [Number(t.oid), t]));
  return result.fields.map((f) => {
    const t = byOid.get(f.dataTypeID);
    return {
      name: f.name,
      kind: kindOfPgType(t?.typname ?? ''),
      dbType: t?.db_type ?? 'unknown',
      nullable: true,
      origin: 'postgres',
    };
  });
}

/** `{a,"b c"}` -> ['a', 'b c'] (identifiers from array_agg arrive in array text form). */
function parseTextArray(text: string): string[] {
  const out: string[] = [];
  let i = 1;
  while (i < text.length - 1) {
    let item = '';
    if (text[i] === '"') {
      i++;
      while (text[i] !== '"') {
        if (text[i] === '\\') i++;
        item += text[i];
        i++;
      }
      i++;
    } else {
      while (i < text.length - 1 && text[i] !== ',') item += text[i++];
    }
    out.push(item);
    i++; // the comma
  }
  return out;
}
