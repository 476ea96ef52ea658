// Leases through the CLI (issue 20, items 7 and the doubtful idle second process), on SQLite: `--restart`
// right after a `kill -9` takes the dead run's lease over as `run` does; a second process that finds every
// chunk held exits 0 and names the live run that holds them.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { batchesSeen, sqliteOrdersPlan } from '../helpers/sqlite-orders.js';
import { tempDirs } from '../helpers/temp-dir.js';

const tempDir = tempDirs();

describe('leases', () => {
  it('--restart right after a kill -9 of a run takes its lease over at once, as run does', async () => {
    const { plan, target } = sqliteOrdersPlan(tempDir(), 200_000, 'killed', 200);
    const run = startCli(['run', plan, '--json']);
    // Kill it once it has committed a few batches: its lease is live for another minute.
    await batchesSeen(run.child.stdout!, 3);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const db = new Database(target, { readonly: true });
    const held = db
      .prepare("SELECT count(*) FROM _migrate_state WHERE plan = 'killed' AND lease_owner IS NOT NULL")
      .pluck()
      .get();
    db.close();
    expect(Number(held)).toBeGreaterThan(0);

    const restarted = await runCli(['run', plan, '--restart', '--no-progress']);
    expect(restarted.code, restarted.stdout + restarted.stderr).toBe(0);
    const check = new Database(target, { readonly: true });
    expect(Number(check.prepare('SELECT count(*) FROM orders').pluck().get())).toBe(200_000);
    check.close();
  });
});

describe('a second process of the same plan', () => {
  it('finds every chunk held: exit 0, and says that another live run (named) finishes them', async () => {
    const { plan } = sqliteOrdersPlan(tempDir(), 200_000, 'idle', 200);
    const first = startCli(['run', plan, '--json']);
    await batchesSeen(first.child.stdout!, 1);
    // Stopped, the first run holds its live lease and cannot finish the table before the others look.
    first.child.kill('SIGSTOP');
    const second = await runCli(['run', plan, '--no-progress']);
    const quiet = await runCli(['run', plan, '--quiet']);
    first.child.kill('SIGKILL');
    await first.done;
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain(
      `orders: skipped: 1 of its chunks are held by another live run of this plan (${first.child.pid}@`,
    );
    expect(second.stdout).toMatch(/not finished by this run: orders .*`migrate status .*plan\.yaml`/);
    // --quiet: errors and the summary only; the table's line in it already says "(unfinished)".
    expect(quiet.code, quiet.stdout + quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/^\ntable .*\n-[- ]+\norders \(unfinished\) /);
    expect(quiet.stdout).not.toContain('not finished by this run');
  });
});
