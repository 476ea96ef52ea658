// TLS option mistakes in a plan's URLs exit 2 with where and what, through the BUILT CLI: the offline check
// (plan position, no file read) and the online one (a root certificate that is not there, found before any
// connection is tried, so no server is needed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, writePlan } from '../helpers/cli.js';

const SECRET = 'tls-s3cr3t';
let home: string;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'cm-tls-home-')); // no ~/.postgresql/root.crt in it
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

function planWith(source: string, target: string): string {
  return writePlan(
    [
      'version: 1',
      'name: tls',
      `source: { url: "${source}" }`,
      `target: { url: "${target}" }`,
      'tables:',
      '  - source: public.t',
      '',
    ].join('\n'),
  );
}

describe('TLS options in plan URLs', () => {
  it('validate --offline: an unknown sslmode and a CA with ssl-mode=REQUIRED, each at its URL, exit 2', async () => {
    const file = planWith(
      `postgres://app:${SECRET}@db:5432/shop?sslmode=sometimes`,
      `mysql://app:${SECRET}@db:3306/shop?ssl-mode=REQUIRED&ssl-ca=/etc/ca.pem`,
    );
    const r = await runCli(['validate', '--offline', file], { env: { HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /plan\.yaml:3:\d+: source\.url: sslmode "sometimes" is not a PostgreSQL sslmode/,
    );
    expect(r.stderr).toMatch(
      /plan\.yaml:4:\d+: target\.url: ssl-ca is set but ssl-mode=REQUIRED does not check/,
    );
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('validate (online): verify-full without a root certificate exits 2 before connecting', async () => {
    const file = planWith(
      `postgres://app:${SECRET}@127.0.0.1:1/shop?sslmode=verify-full`,
      `postgres://app:${SECRET}@127.0.0.1:1/shop?sslmode=disable`,
    );
    const r = await runCli(['validate', file], { env: { HOME: home, PGSSLROOTCERT: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `root certificate file "${join(home, '.postgresql', 'root.crt')}" does not exist`,
    );
    expect(r.stderr).toContain('postgres://app:***@127.0.0.1:1/shop?sslmode=verify-full');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});
