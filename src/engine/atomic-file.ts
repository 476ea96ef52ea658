/**
 * Every file the tool writes goes through here. Reports hold row values, and they are written next to a
 * plan, in a folder others may be able to write to, so a file is:
 * - created new, mode 0600, under a temporary name in the destination's folder (`O_CREAT | O_EXCL |
 *   O_NOFOLLOW`: an existing file or symlink of that name fails the open, nothing is followed);
 * - written as it goes (a report can be large), then flushed to disk and renamed onto its destination.
 *   rename() replaces whatever has the destination's name, a symlink included, and never writes through
 *   it; readers see the old file or the whole new one, never half of it. After a crash only the temporary
 *   file (`<destination>.<random>.tmp`) is left, with what was recorded until then.
 */
import { randomBytes } from 'node:crypto';
import {
  close,
  closeSync,
  constants,
  createWriteStream,
  fchmodSync,
  fsync,
  openSync,
  type WriteStream,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { promisify } from 'node:util';
import { RuntimeError } from '../errors.js';

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
const MODE = 0o600;

const fsyncFd = promisify(fsync);
const closeFd = promisify(close);

export class AtomicFile {
  readonly tempPath: string;
  private readonly fd: number;
  private readonly stream: WriteStream;
  private failure: Error | null = null;
  private ended: Promise<string> | null = null;

  /** Creates the temporary file at once (synchronously, so a failure is the caller's error). */
  constructor(readonly path: string) {
    this.tempPath = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      this.fd = openSync(this.tempPath, CREATE_NEW, MODE);
    } catch (error) {
      throw fileError(`cannot create ${this.tempPath}`, error);
    }
    try {
      fchmodSync(this.fd, MODE); // the umask may have taken bits away; 0600 whatever it is
    } catch (error) {
      closeSync(this.fd);
      throw fileError(`cannot set the mode of ${this.tempPath}`, error);
    }
    this.stream = createWriteStream(this.tempPath, { fd: this.fd, autoClose: false });
    this.stream.on('error', (error) => {
      this.failure ??= error;
    });
  }

  write(text: string): void {
    if (this.ended || this.failure) return;
    this.stream.write(text);
  }

  /** Flushes, syncs and renames the file onto its destination; returns the destination. Once only. */
  commit(): Promise<string> {
    this.ended ??= this.finish();
    return this.ended;
  }

  private async finish(): Promise<string> {
    this.stream.end();
    await finished(this.stream).catch((error: Error) => {
      this.failure ??= error;
    });
    try {
      if (this.failure) throw this.failure;
      await fsyncFd(this.fd);
    } catch (error) {
      await closeFd(this.fd).catch(() => undefined);
      await unlink(this.tempPath).catch(() => undefined);
      throw fileError(`cannot write ${this.path}`, error);
    }
    await closeFd(this.fd);
    try {
      await rename(this.tempPath, this.path);
    } catch (error) {
      throw fileError(`cannot put ${this.path} in place (its content is in ${this.tempPath})`, error);
    }
    await syncFolder(dirname(this.path));
    return this.path;
  }
}

/** Makes the rename durable; not every system can sync a folder, and the file itself is synced already. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY).catch(() => null);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}

function fileError(message: string, cause: unknown): RuntimeError {
  const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
  return new RuntimeError(`${message}: ${reason}`, {
    cause,
    hint: 'check that the folder exists and is writable, and that there is space on its disk',
  });
}
