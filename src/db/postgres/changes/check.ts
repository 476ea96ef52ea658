/**
 * Whether the source can be followed (ChangeCapture.check): the server's settings, the role's rights and
 * each table's replica identity, each problem with what to set.
 */
import type pg from 'pg';
import type { FollowSpec } from '../../changes.js';
import { formatTableRef } from '../../table.js';
import { quoteIdent, quoteTable } from '../sql.js';

interface ServerRow {
  wal_level: string;
  max_slots: string;
  used_slots: string;
  max_senders: string;
  used_senders: string;
  can_replicate: string;
  role: string;
  db: string;
  can_create: string;
}

const SERVER_SQL = `
SELECT current_setting('wal_level') AS wal_level,
       current_setting('max_replication_slots') AS max_slots,
       (SELECT count(*) FROM pg_replication_slots) AS used_slots,
       current_setting('max_wal_senders') AS max_senders,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender') AS used_senders,
       (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate,
       current_user AS role, current_database() AS db,
       has_database_privilege(current_database(), 'CREATE') AS can_create`;

interface TableRow {
  identity: string;
  owner: string;
  primary_key: string | null;
  identity_index: string | null;
}

// Column names as JSON arrays (no array-text parsing).
const TABLE_SQL = `
SELECT c.relreplident AS identity, pg_has_role(c.relowner, 'USAGE') AS owner,
  (SELECT json_agg(a.attname)::text FROM pg_index i
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key,
  (SELECT json_agg(a.attname)::text FROM pg_index i
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = c.oid AND i.indisreplident) AS identity_index
FROM pg_class c WHERE c.oid = to_regclass($1)`;

export async function checkFollow(client: pg.Client, spec: FollowSpec, name: string): Promise<string[]> {
  const server = (await client.query<ServerRow>(SERVER_SQL)).rows[0]!;
  const slot = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [name]);
  const publication = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
  const problems = serverProblems(server, slot.rows.length > 0, publication.rows.length > 0);
  for (const table of spec.tables) {
    const keyNames = table.key.map((i) => table.columns[i]!.name);
    const r = await client.query<TableRow>(TABLE_SQL, [quoteTable(table.ref)]);
    const row = r.rows[0];
    if (!row) problems.push(`table ${formatTableRef(table.ref)} does not exist`);
    else problems.push(...tableProblems(table.ref, row, keyNames, server.role, publication.rows.length > 0));
  }
  return problems;
}

function serverProblems(s: ServerRow, slotExists: boolean, publicationExists: boolean): string[] {
  const problems: string[] = [];
  if (s.wal_level !== 'logical')
    problems.push(
      `wal_level is ${s.wal_level}: following changes needs wal_level = logical ` +
        '(ALTER SYSTEM SET wal_level = logical, or postgresql.conf, then restart the server)',
    );
  if (s.can_replicate !== 't')
    problems.push(
      `role ${s.role} may not replicate: following changes needs the REPLICATION attribute ` +
        `(as a superuser: ALTER ROLE ${quoteIdent(s.role)} REPLICATION)`,
    );
  if (!slotExists && Number(s.used_slots) >= Number(s.max_slots))
    problems.push(
      `all ${s.max_slots} replication slots (max_replication_slots) are taken: drop slots no longer used ` +
        '(see pg_replication_slots) or raise max_replication_slots (a restart)',
    );
  if (Number(s.used_senders) >= Number(s.max_senders))
    problems.push(
      `all ${s.max_senders} WAL senders (max_wal_senders) are in use: raise max_wal_senders (a restart)`,
    );
  if (!publicationExists && s.can_create !== 't')
    problems.push(
      `role ${s.role} may not create a publication in database ${s.db} ` +
        `(as its owner: GRANT CREATE ON DATABASE ${quoteIdent(s.db)} TO ${quoteIdent(s.role)})`,
    );
  return problems;
}

/** A table must be published without breaking the application's writes, with its key in every change. */
function tableProblems(
  ref: FollowSpec['tables'][number]['ref'],
  row: TableRow,
  key: string[],
  role: string,
  publicationExists: boolean,
): string[] {
  const name = formatTableRef(ref);
  const full = `ALTER TABLE ${quoteTable(ref)} REPLICA IDENTITY FULL`;
  const problems: string[] = [];
  if (!publicationExists && row.owner !== 't')
    problems.push(
      `role ${role} does not own table ${name}, so it cannot add it to a publication: ` +
        'run the follow as the table owner (or a superuser)',
    );
  if (row.identity === 'f') return problems;
  // d: the primary key; i: an index; n: nothing.
  const identity = row.identity === 'd' ? row.primary_key : row.identity === 'i' ? row.identity_index : null;
  if (identity === null) {
    problems.push(
      `table ${name} has no primary key (nor another replica identity): once published for replication, ` +
        `its UPDATE and DELETE statements would fail; add a primary key or run ${full}`,
    );
    return problems;
  }
  const columns = JSON.parse(identity) as string[];
  const missing = key.filter((k) => !columns.includes(k));
  if (missing.length)
    problems.push(
      `table ${name}: key column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not in its replica ` +
        `identity (${columns.join(', ')}), so the old key of a change is not sent; run ${full}`,
    );
  return problems;
}
