/** What both dialects' TLS options share: reading a named file, and what to say when TLS fails. */
import { UsageError } from '../errors.js';

export const TLS_HINT = 'see the TLS table in docs/plan.md';

/** A file a TLS parameter names (`what`: the parameter), read now; a missing one is a usage error. */
export function readTlsFile(read: (path: string) => Buffer, what: string, path: string): Buffer {
  try {
    return read(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${what} "${path}"${code ? ` (${code})` : ''}`, {
      cause: error,
      hint: TLS_HINT,
    });
  }
}

/** The hint of a failed TLS handshake: `mode` as the URL names it, `ca` the parameter that names the CA. */
export function tlsFailureHint(mode: string, ca: string): string {
  return (
    `the TLS handshake failed under ${mode} (often the server's certificate): name its CA with ${ca}, ` +
    `connect by a host name the certificate holds, or choose another mode (docs/plan.md, TLS)`
  );
}
