/**
 * Where a run's time goes, stage by stage (MIGRATE_TIMING=1 prints it to stderr when a chunk ends): for
 * profiling the pipeline, not for users. Costs two clock reads per stage per batch when on, none when off.
 */
const enabled = process.env.MIGRATE_TIMING === '1';

export class StageTimer {
  private readonly totals = new Map<string, number>();
  private last = enabled ? performance.now() : 0;

  /** Charges the time since the previous mark to `stage`. */
  mark(stage: string): void {
    if (!enabled) return;
    const now = performance.now();
    this.totals.set(stage, (this.totals.get(stage) ?? 0) + now - this.last);
    this.last = now;
  }

  report(label: string): void {
    if (!enabled) return;
    const parts = [...this.totals].map(([k, v]) => `${k} ${Math.round(v)}ms`);
    process.stderr.write(`timing ${label}: ${parts.join(', ')}\n`);
  }
}
