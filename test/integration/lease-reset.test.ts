// `--restart` and the dead-owner rule in every dialect's state store (issue 20, items 7 and 13): reset drops
// checkpoints whose live lease belongs to a gone process of this boot and pid namespace, as claim takes
// them over, and is refused (LockedError) while the lease belongs to a process it cannot judge: another pid
// namespace with the same pid, or an id of an older version.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDialect } from '../../src/db/open.js';
import type { StateStore } from '../../src/db/state-store.js';
import { newOwner, ownerIsDead, readOwnIdentity } from '../../src/engine/owner.js';
import { LockedError } from '../../src/errors.js';
import { createMysqlDatabase, createPgDatabase } from '../helpers/databases.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const self = readOwnIdentity();

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

const urls: Record<string, (name: string) => Promise<string>> = {
  postgres: async (name) => {
    const db = await createPgDatabase(name);
    cleanups.push(() => db.drop());
    return db.url;
  },
  mysql: async (name) => {
    const db = await createMysqlDatabase(name);
    cleanups.push(() => db.drop());
    return db.url;
  },
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lease-reset-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'target.db');
    new Database(file).close(); // the dialect opens existing files only
    return `sqlite:${file}`;
  },
};

describe.skipIf(self === null).each(Object.keys(urls))('%s state store', (kind) => {
  async function store(): Promise<StateStore> {
    const dialect = await openDialect(await urls[kind]!(`lease reset ${kind}`));
    cleanups.push(() => dialect.close());
    const state = await dialect.state('_migrate_state');
    cleanups.push(() => state.close?.());
    await state.ensure();
    return state;
  }

  it('reset takes a gone local owner’s live lease, and refuses one of another pid namespace or an old id', async () => {
    const state = await store();
    const pid = deadPid();
    const me = newOwner();
    const gone = newOwner({ ...self!, pid, startTime: '1' });
    const elsewhere = newOwner({ ...self!, pid, pidNamespace: `${self!.pidNamespace}9` });
    const old = `${hostname()}:${pid}:abcdef`;

    for (const owner of [elsewhere, old]) {
      expect(await state.claim('p', 't', 0, owner, 60_000, 'h')).not.toBeNull();
      expect(await state.claim('p', 't', 0, me, 60_000, 'h', ownerIsDead)).toBeNull();
      await expect(state.reset('p', null, me, ownerIsDead)).rejects.toBeInstanceOf(LockedError);
      await state.release('p', 't', 0, owner);
    }

    expect(await state.claim('p', 't', 0, gone, 60_000, 'h')).not.toBeNull();
    expect((await state.list('p'))[0]).toMatchObject({ leaseOwner: gone, leaseLive: true });
    await state.reset('p', null, me, ownerIsDead);
    expect(await state.list('p')).toEqual([]);
  });
});
