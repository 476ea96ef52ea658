/**
 * A batch of changes cut into runs of one kind, applied one run after another in the changes' order
 * (Writer.applyChanges). In order, not collapsed to the last change per key: collapsing moves a key's last
 * change ahead of other keys' changes, which can meet a unique index in a state the source never had (key 1
 * gives up an e-mail address that key 2 then takes, and key 1 is re-inserted later with another: collapsed,
 * key 2's upsert would run while key 1 still holds the address). Runs keep the statement count low when keys
 * do not repeat.
 */
import { canonicalizer } from '../convert/canonical.js';
import type { Column, Row } from '../convert/value.js';
import { RuntimeError } from '../errors.js';
import type { TargetChange, WriteSpec } from './writer.js';

export type ChangeRun = { op: 'upsert'; rows: Row[] } | { op: 'delete'; keys: Row[] } | { op: 'truncate' };

/**
 * The runs of `changes`. A run of upserts never holds a key twice (one statement may not touch a row twice:
 * PostgreSQL's ON CONFLICT DO UPDATE refuses it, and a read-back could not tell the two apart); a run holds
 * at most `maxRows` changes.
 */
export function changeRuns(
  changes: readonly TargetChange[],
  columns: readonly Column[],
  key: readonly number[],
  maxRows = Number.POSITIVE_INFINITY,
): ChangeRun[] {
  const canons = key.map((i) => canonicalizer(columns[i]!.kind));
  const keyText = (row: Row) => JSON.stringify(key.map((ci, j) => canons[j]!(row[ci] ?? null)));
  const runs: ChangeRun[] = [];
  let upserts: Row[] | null = null;
  let seen = new Set<string>();
  let deletes: Row[] | null = null;
  for (const change of changes) {
    if (change.op === 'upsert') {
      deletes = null;
      const text = keyText(change.row);
      if (upserts === null || upserts.length >= maxRows || seen.has(text)) {
        upserts = [];
        seen = new Set();
        runs.push({ op: 'upsert', rows: upserts });
      }
      upserts.push(change.row);
      seen.add(text);
    } else if (change.op === 'delete') {
      upserts = null;
      if (deletes === null || deletes.length >= maxRows) {
        deletes = [];
        runs.push({ op: 'delete', keys: deletes });
      }
      deletes.push(change.key);
    } else {
      upserts = null;
      deletes = null;
      runs.push({ op: 'truncate' });
    }
  }
  return runs;
}

/** Changes are applied by key: a writer of a key-less table cannot apply them (validate refuses to follow it). */
export function requireKey(spec: WriteSpec): void {
  if (spec.key.length > 0) return;
  throw new RuntimeError(`table ${spec.label}: it has no key, so its changes cannot be applied`, {
    hint: 'give the table a `key:` in the plan (or a primary key) to follow it',
  });
}

/** The hint for a duplicate met while applying changes: upserts replace rows, so only another unique index can. */
export const APPLY_DUPLICATE_HINT =
  'another target row holds the value in a unique index other than the key (the source does not enforce it alike): drop or change that index on the target';
