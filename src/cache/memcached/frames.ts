/**
 * memcached's binary protocol as far as the passes use it: opcodes, status codes, the 24-byte request
 * header, the expiry field, and the writers that lay frames into one request buffer.
 */
import { EXPIRY_MAX_UNIX_S, RELATIVE_TTL_MAX_S } from '../../plan/expiry.js';

export const OPCODE_GETKQ = 0x0d;
export const OPCODE_NOOP = 0x0a;
export const OPCODE_SETQ = 0x11;
export const OPCODE_ADDQ = 0x12;
export const HEADER_BYTES = 24;
/** Flags (4 bytes) and expiry (4 bytes) of a set/add request. */
export const STORE_EXTRAS_BYTES = 8;
export const MAX_KEY_BYTES = 250;
/** Up to this many bytes, `copyBytes` copies in a loop: for a key, cheaper than a call into Buffer.copy. */
const SHORT_COPY_BYTES = 64;

export const STATUS_SUCCESS = 0x00;
export const STATUS_KEY_NOT_FOUND = 0x01;
export const STATUS_KEY_EXISTS = 0x02;
export const STATUS_NOT_STORED = 0x05;
/** Out of memory, internal error, busy, temporary failure: worth another attempt. */
export const TRANSIENT_STATUS = new Set([0x82, 0x84, 0x85, 0x86]);
const STATUS_TEXT: Record<number, string> = {
  1: 'key not found',
  2: 'key exists',
  3: 'value too large',
  4: 'invalid arguments',
  5: 'item not stored',
  32: 'authentication error',
  129: 'unknown command',
  130: 'out of memory',
  131: 'not supported',
  132: 'internal error',
  133: 'busy',
  134: 'temporary failure',
};

export function statusText(status: number): string {
  return `${STATUS_TEXT[status] ?? 'error'} (status 0x${status.toString(16).padStart(2, '0')})`;
}

/** A request header at `at` (data type, vbucket and CAS zero); returns where its body starts. */
export function writeHeader(
  buf: Buffer,
  at: number,
  opcode: number,
  keyBytes: number,
  extrasBytes: number,
  bodyBytes: number,
  opaque: number,
): number {
  buf[at] = 0x80;
  buf[at + 1] = opcode;
  buf[at + 2] = keyBytes >>> 8;
  buf[at + 3] = keyBytes & 255;
  buf[at + 4] = extrasBytes;
  buf[at + 5] = 0;
  buf[at + 6] = 0;
  buf[at + 7] = 0;
  writeUInt32(buf, at + 8, bodyBytes);
  writeUInt32(buf, at + 12, opaque);
  writeUInt32(buf, at + 16, 0);
  writeUInt32(buf, at + 20, 0);
  return at + HEADER_BYTES;
}

/** Big-endian, byte by byte: cheaper per frame than Buffer's checked writeUInt32BE. */
export function writeUInt32(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 255;
  buf[at + 2] = (value >>> 8) & 255;
  buf[at + 3] = value & 255;
}

/**
 * Copies src[start..end) into dst at `at`; returns the byte count. A key alone is copied in a loop, which
 * for a few dozen bytes costs less than a call into Buffer.copy.
 */
export function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, at: number): number {
  const n = end - start;
  if (n > SHORT_COPY_BYTES) return src.copy(dst, at, start, end);
  for (let i = 0; i < n; i++) dst[at + i] = src[start + i] as number;
  return n;
}

/**
 * memcached reads an expiry over 30 days as a Unix time: a long TTL must be sent as one. The plan refuses a
 * TTL that ends past EXPIRY_MAX_UNIX_S (`ttlProblem`); one that gets there while a long run goes on is held at
 * it rather than wrapped into the past.
 */
export function expiresField(ttl: number, nowMs = Date.now()): number {
  if (!(ttl > 0)) return 0;
  const seconds = Math.ceil(ttl);
  if (seconds <= RELATIVE_TTL_MAX_S) return seconds;
  return Math.min(Math.floor(nowMs / 1000) + seconds, EXPIRY_MAX_UNIX_S);
}
