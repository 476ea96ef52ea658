/**
 * Everything the CLI writes to stdout and stderr passes through `redact` (secrets.ts): whatever path a
 * message took (a driver's error, a progress line, a `--json` event), no noted secret reaches the terminal.
 */
import { redact } from '../../secrets.js';

export function redactOutput(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(masked(chunk), ...rest)) as typeof stream.write;
}

function masked(chunk: unknown): unknown {
  if (typeof chunk === 'string') return redact(chunk);
  if (chunk instanceof Uint8Array) {
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
    const clean = redact(text);
    return clean === text ? chunk : Buffer.from(clean);
  }
  return chunk;
}
