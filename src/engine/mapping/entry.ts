/**
 * The plan table that resolveTable is resolving, and the problems found in it so far: what every step of
 * the mapping (source, target table, columns, key, cache) is handed.
 */
import type { Column } from '../../convert/value.js';
import { renderPlanPath, SchemaError, type SchemaProblem } from '../../errors.js';
import type { Plan, PlanTable, ResolvedTableOptions } from '../../plan/schema.js';

export interface TableEntry {
  plan: Plan;
  table: PlanTable;
  /** The table's position in `tables`. */
  index: number;
  /** Its target name, as output shows it. */
  label: string;
  options: ResolvedTableOptions;
  problems: Problems;
}

/** Collects every problem of a table before failing, so the user fixes them in one go. */
export class Problems {
  readonly list: SchemaProblem[] = [];
  constructor(private readonly index: number) {}
  add(path: (string | number)[], message: string): void {
    this.list.push({ path: ['tables', this.index, ...path], message });
  }

  /** All the problems as one error, if there are any. */
  throwIfAny(label: string): void {
    if (this.list.length === 0) return;
    const lines = this.list.map((p) => `${renderPlanPath(p.path)}: ${p.message}`);
    throw new SchemaError(`table ${label} cannot be migrated as planned:\n  ${lines.join('\n  ')}`, {
      hint: 'fix the plan (or the target schema) and run `migrate validate` again',
      problems: this.list,
    });
  }
}

/** Column names as a problem lists them. */
export function names(cols: Column[]): string {
  return cols.map((c) => c.name).join(', ') || '(none)';
}
