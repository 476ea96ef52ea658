/**
 * `--tables a,b`: which of the plan's tables a command works on, by target name. The one selector every
 * command uses (run, verify, warm, status, validate, `--dry-run`), so they accept and refuse the same names.
 */
import { UsageError } from '../errors.js';
import { type Plan, targetName } from '../plan/schema.js';
import { suggest } from '../plan/suggest.js';

/**
 * Indexes into `plan.tables`, in plan order: every table when `names` is absent or empty, else those named.
 * A name the plan does not have is a usage error (exit 2) that suggests the nearest table name.
 */
export function selectTables(plan: Plan, names: readonly string[] | undefined): number[] {
  const labels = plan.tables.map(targetName);
  const all = labels.map((_, i) => i);
  if (!names || names.length === 0) return all;
  const unknown = names.filter((name) => !labels.includes(name));
  if (unknown.length > 0) {
    const guesses = unknown.map((name) => {
      const guess = suggest(name, labels);
      return guess ? `${name} (did you mean ${guess}?)` : name;
    });
    throw new UsageError(`--tables: not in the plan: ${guesses.join(', ')}`, {
      hint: `the plan's tables are: ${labels.join(', ')}`,
    });
  }
  return all.filter((i) => names.includes(labels[i]!));
}
