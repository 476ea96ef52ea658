// Numeric flags (issue 20, item 11): decimal digits only, in the plan's range; anything else exits 2 and
// names the flag and the value, before any connection.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { sqliteOrdersPlan } from '../helpers/sqlite-orders.js';
import { tempDirs } from '../helpers/temp-dir.js';

const tempDir = tempDirs();

describe('numeric flags', () => {
  it.each([
    ['--batch-size', '0x10'],
    ['--batch-size', '1e3'],
    ['--batch-size', '10^9'],
    ['--batch-size', '1000000000'],
    ['--batch-size', '0'],
    ['--batch-size', '-1'],
    ['--batch-size', '12.5'],
    ['--batch-size', ' 12'],
    ['--workers', '0x2'],
    ['--workers', '1e1'],
    ['--concurrency', '0'],
    ['--concurrency', '1e9'],
  ])('%s %s is a usage error (exit 2) naming the flag', async (flag, value) => {
    const { plan } = sqliteOrdersPlan(tempDir(), 1, 'flags');
    const result = await runCli(['run', plan, flag, value, '--no-progress']);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(flag);
    expect(result.stderr).toContain(`"${value}"`);
  });

  it('--batch-size 1000000, the plan schema’s largest, is taken', async () => {
    const { plan } = sqliteOrdersPlan(tempDir(), 10, 'flags-max');
    const result = await runCli(['run', plan, '--batch-size', '1000000', '--no-progress']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});
