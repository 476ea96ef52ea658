// Report files (issue 20, item 3): created without following symlinks, mode 0600, put in place by a
// rename once complete. A symlink where a report goes is replaced, never written through.
import { lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { sqliteOrdersPlan } from '../helpers/sqlite-orders.js';
import { tempDirs } from '../helpers/temp-dir.js';

const tempDir = tempDirs();

describe('report files', () => {
  it('verify replaces a symlink named like its report instead of writing through it; the report is 0600', async () => {
    const { dir, plan, target } = sqliteOrdersPlan(tempDir(), 2000, 'linked');
    expect((await runCli(['run', plan, '--no-progress'])).code).toBe(0);
    const db = new Database(target);
    db.exec('UPDATE orders SET qty = qty + 1 WHERE id = 1234');
    db.close();

    const victim = join(tempDir(), 'someone-elses-file');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    const report = join(dir, 'linked.mismatches.ndjson');
    symlinkSync(victim, report);

    const result = await runCli(['verify', plan, '--no-progress']);
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(statSync(victim).mode & 0o777).toBe(0o600);
    const written = lstatSync(report);
    expect(written.isFile()).toBe(true);
    expect(written.mode & 0o777).toBe(0o600);
    const lines = readFileSync(report, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(['id=1234']);
    // No temporary file is left beside it.
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
