// Lease owner ids and the dead-owner rule (issue 20, item 13): a process is judged gone only when its boot
// id and pid namespace are ours; the host name and pid alone (containers share both) never decide it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { newOwner, ownerIsDead, ownerLabel, readOwnIdentity } from '../../src/engine/owner.js';

const self = readOwnIdentity();

/** A pid that names no process now: a child that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe.skipIf(self === null)('lease owners (Linux /proc)', () => {
  const me = self!;

  it('an owner id holds this boot, pid namespace, pid and start time; its label is pid@host/random', () => {
    const owner = newOwner();
    expect(owner).toContain(`;boot=${me.bootId};pidns=${me.pidNamespace};start=${me.startTime}`);
    expect(ownerLabel(owner)).toMatch(new RegExp(`^${process.pid}@[^/;]+/[0-9a-f]{6}$`));
    expect(newOwner()).not.toBe(owner);
  });

  it('a process of this boot and pid namespace that is gone is dead', () => {
    const owner = newOwner({ ...me, pid: deadPid(), startTime: '12345' });
    expect(ownerIsDead(owner)).toBe(true);
  });

  it('a live process of ours is not dead; the same pid with another start time (pid reused) is', () => {
    expect(ownerIsDead(newOwner())).toBe(false);
    const parent = process.ppid;
    const stat = readFileSync(`/proc/${parent}/stat`, 'utf8');
    const parentStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
    expect(ownerIsDead(newOwner({ ...me, pid: parent, startTime: parentStart }))).toBe(false);
    expect(ownerIsDead(newOwner({ ...me, pid: parent, startTime: `${parentStart}1` }))).toBe(true);
    expect(ownerIsDead(newOwner({ ...me, startTime: `${me.startTime}1` }))).toBe(true);
  });

  it('a process of another pid namespace (another container, same host name) is never judged dead', () => {
    const pid = deadPid();
    expect(ownerIsDead(newOwner({ ...me, pid, pidNamespace: `${me.pidNamespace}7` }))).toBe(false);
    expect(ownerIsDead(newOwner({ ...me, pid, bootId: '00000000-0000-4000-8000-000000000000' }))).toBe(false);
  });

  it('an id of an older version (host:pid:random, no boot or namespace) is judged by expiry only', () => {
    // Old versions judged this dead: same host name, no such pid here. It may be a live run in a container.
    expect(ownerIsDead(`${hostname()}:${deadPid()}:abcdef`)).toBe(false);
    expect(ownerLabel(`${hostname()}:1:abcdef`)).toBe(`${hostname()}:1:abcdef`);
  });

  it('without an identity of our own (no /proc) nothing is judged dead', () => {
    expect(ownerIsDead(newOwner({ ...me, pid: deadPid() }), null)).toBe(false);
  });
});
