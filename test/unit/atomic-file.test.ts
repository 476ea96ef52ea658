// AtomicFile, the one writer of every file the tool writes: 0600, nothing followed, in place only whole.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicFile } from '../../src/engine/atomic-file.js';
import { RuntimeError } from '../../src/errors.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-file-'));
  dirs.push(dir);
  return dir;
}

describe('AtomicFile', () => {
  it('leaves the old file in place until commit, then puts the whole new one there, 0600, no temp left', async () => {
    const dir = folder();
    const path = join(dir, 'p.mismatches.ndjson');
    writeFileSync(path, 'old\n', { mode: 0o644 });
    const file = new AtomicFile(path);
    for (let i = 0; i < 10_000; i++) file.write(`{"i":${i}}\n`);
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    expect(lstatSync(file.tempPath).mode & 0o777).toBe(0o600);
    expect(await file.commit()).toBe(path);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).toHaveLength(10_001);
    expect(text.endsWith('{"i":9999}\n')).toBe(true);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['p.mismatches.ndjson']);
  });

  it('replaces a symlink at the destination instead of writing through it', async () => {
    const dir = folder();
    const victim = join(folder(), 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    const path = join(dir, 'p.rejects.ndjson');
    symlinkSync(victim, path);
    const file = new AtomicFile(path);
    file.write('row\n');
    await file.commit();
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('row\n');
  });

  it('a folder that is not there, or a folder at the destination, is a RuntimeError naming the file', async () => {
    const dir = folder();
    expect(() => new AtomicFile(join(dir, 'missing', 'x.ndjson'))).toThrow(RuntimeError);
    const path = join(dir, 'p.unwarmed.ndjson');
    mkdirSync(path);
    const file = new AtomicFile(path);
    file.write('k\n');
    await expect(file.commit()).rejects.toThrow(new RegExp(`cannot put ${path} in place`));
  });
});
