/** `migrate status <plan>`: per table state, rows done / estimated, last key, mismatches, last run time. */
import { loadCheckedPlan } from '../../db/plan-checks.js';
import type { ChunkState } from '../../db/state-store.js';
import { parseTableRef } from '../../db/table.js';
import { ownerLabel } from '../../engine/owner.js';
import { withTarget } from '../../engine/session.js';
import { stateTableName, targetName } from '../../plan/schema.js';
import { type CommonOptions, tableFilter } from '../options.js';

export async function statusCommand(planFile: string, opts: CommonOptions): Promise<void> {
  const { plan } = await loadCheckedPlan(planFile);
  await withTarget(plan, tableFilter(opts), async (target, indexes) => {
    const state = await target.state(stateTableName(plan));
    const chunks = await state.list(plan.name);
    const rows = [];
    for (const i of indexes) {
      const name = targetName(plan.tables[i]!);
      const mine = chunks.filter((c) => c.table === name);
      const info = await target.describeTable(parseTableRef(name)).catch(() => null);
      rows.push(summarise(name, mine, info?.estimatedRows ?? null));
    }
    if (opts.json) {
      for (const r of rows) process.stdout.write(`${JSON.stringify({ event: 'status', ...r })}\n`);
      return;
    }
    const head = [
      'table',
      'state',
      'rows done',
      'target rows (est.)',
      'last key',
      'mismatches',
      'last run',
      'lease',
    ];
    const body = rows.map((r) => [
      r.table,
      r.state,
      String(r.rowsDone),
      r.targetRows === null ? '-' : String(r.targetRows),
      r.lastKey ?? '-',
      String(r.mismatches),
      r.updatedAt ?? '-',
      r.lease ?? '-',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
    process.stdout.write(`plan ${plan.name} (state in ${target.display}, table ${stateTableName(plan)})\n`);
    process.stdout.write(`${[line(head), ...body.map(line)].join('\n')}\n`);
  });
}

function summarise(table: string, chunks: ChunkState[], targetRows: number | null) {
  const state =
    chunks.length === 0
      ? 'not started'
      : chunks.every((c) => c.status === 'done')
        ? 'done'
        : chunks.some((c) => c.leaseLive)
          ? 'running'
          : 'paused';
  const latest = chunks.reduce<Date | null>(
    (a, c) => (c.updatedAt && (!a || c.updatedAt > a) ? c.updatedAt : a),
    null,
  );
  const done = chunks.filter((c) => c.status === 'done').length;
  return {
    table,
    state: chunks.length > 1 && state !== 'done' ? `${state} (${done}/${chunks.length} chunks done)` : state,
    chunks: chunks.length,
    rowsDone: chunks.reduce((a, c) => a + c.rowsRead, 0),
    targetRows,
    lastKey:
      chunks
        .map((c) => c.lastKey)
        .filter(Boolean)
        .join(' ') || null,
    mismatches: chunks.reduce((a, c) => a + c.mismatches, 0),
    updatedAt: latest ? latest.toISOString() : null,
    lease:
      [
        ...new Set(
          chunks.filter((c) => c.leaseLive && c.leaseOwner).map((c) => ownerLabel(c.leaseOwner ?? '')),
        ),
      ].join(' ') || null,
  };
}
