// `--tables` names the plan's tables by target name, the same way for every command: an unknown name is a
// usage error (exit 2) with a did-you-mean, before any server is asked (the plan's servers do not exist).
import { describe, expect, it } from 'vitest';
import { runCli, writePlan } from '../helpers/cli.js';

// Port 1 on localhost: nothing listens, so a command that connected before selecting would fail otherwise.
const PLAN = `version: 1
name: tables-flag
source:
  url: postgres://nobody@127.0.0.1:1/none
target:
  url: postgres://nobody@127.0.0.1:1/none
cache:
  servers: [127.0.0.1:1]
  warm: read-through
tables:
  - source: src.orders
    target: dst.orders
    cache:
      key: "order:{id}"
  - source: src.customers
    target: dst.customers
    cache:
      key: "customer:{id}"
`;

const COMMANDS: [string, string[]][] = [
  ['run', ['run']],
  ['run --dry-run', ['run', '--dry-run']],
  ['verify', ['verify']],
  ['warm', ['warm']],
  ['status', ['status']],
  ['validate', ['validate']],
  ['validate --offline', ['validate', '--offline']],
];

describe('--tables with a name the plan does not have', () => {
  const file = writePlan(PLAN);
  it.each(COMMANDS)('%s: exit 2, did you mean, the plan tables listed', async (_, command) => {
    const r = await runCli([...command, file, '--tables', 'dst.orders,dst.ordrs,nothing', '--no-progress']);
    expect(r.stderr).toContain('--tables: not in the plan: dst.ordrs (did you mean dst.orders?), nothing');
    expect(r.stderr).toContain("the plan's tables are: dst.orders, dst.customers");
    expect(r.stderr).not.toMatch(/127\.0\.0\.1:1|connect/i);
    expect(r.code).toBe(2);
  });
});
