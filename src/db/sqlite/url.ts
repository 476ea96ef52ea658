/**
 * SQLite "URLs" name a database file:
 *
 * | URL                        | file                                             |
 * |----------------------------|--------------------------------------------------|
 * | `sqlite:path/to/file.db`   | `path/to/file.db`, relative to the current directory |
 * | `sqlite:/abs/path.db`      | `/abs/path.db`                                   |
 * | `sqlite:///abs/path.db`    | `/abs/path.db`                                   |
 *
 * The path is taken literally (no `%xx` decoding, no `?query`). The file must exist: a typo must not
 * silently create an empty database. `:memory:` is refused, since every connection would see its own.
 */
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';

const FORMS = 'use sqlite:relative/path.db (relative to the current directory) or sqlite:///absolute/path.db';

export function sqlitePath(url: string, cwd = process.cwd()): string {
  const m = /^sqlite:/i.exec(url);
  if (!m) throw new UsageError(`${url}: not a sqlite: URL`, { hint: FORMS });
  let rest = url.slice(m[0].length);
  if (rest.startsWith('///')) rest = rest.slice(2);
  else if (rest.startsWith('//')) {
    throw new UsageError(`${url}: a sqlite URL has no host part`, { hint: FORMS });
  }
  if (rest === '' || rest === ':memory:' || rest.startsWith('file:')) {
    throw new UsageError(`${url}: expected the path of a database file`, { hint: FORMS });
  }
  return resolve(cwd, rest);
}
