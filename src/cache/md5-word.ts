/**
 * The first 32-bit word of MD5(UTF-8 of a string): what ketama places a key by. Computed here in plain
 * arithmetic because a call into node:crypto has a fixed overhead far above the hash of a short key
 * itself, and the cache does it for every key it stores or reads.
 * Keys in a packed batch are hashed from their UTF-8 bytes as they lie in the pack (`md5FirstWordOfBytes`),
 * sparing the string and its encoding.
 * Checked against node:crypto in the unit tests (every length up to a few blocks, non-ASCII, surrogates).
 */

/**
 * The block being hashed: a whole one, or the last bytes of the message and their padding (up to two
 * blocks). Fixed buffers (`const`) are read faster than reassignable ones in the hot loop.
 */
const block = new Uint8Array(128);
const words = new Int32Array(block.buffer);
/** The digest state (a, b, c, d) from block to block. */
const state = new Int32Array(4);
/** A string key's UTF-8 (grown for a long key). */
let utf8 = new Uint8Array(256);

const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
  21, 6, 10, 15, 21,
];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

/** UTF-8 of `s` into `utf8` (lone surrogates as U+FFFD, as Buffer.from does); returns the length. */
function encode(s: string): number {
  if (utf8.length < s.length * 3) utf8 = new Uint8Array(s.length * 3);
  const bytes = utf8;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) bytes[n++] = c;
    else if (c < 0x800) {
      bytes[n++] = 0xc0 | (c >> 6);
      bytes[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = s.charCodeAt(i + 1);
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          bytes[n++] = 0xf0 | (c >> 18);
          bytes[n++] = 0x80 | ((c >> 12) & 63);
          bytes[n++] = 0x80 | ((c >> 6) & 63);
          bytes[n++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd;
      }
      bytes[n++] = 0xe0 | (c >> 12);
      bytes[n++] = 0x80 | ((c >> 6) & 63);
      bytes[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

/** MD5(UTF-8 of `s`), bytes 0..3 read little-endian (an unsigned 32-bit number). */
export function md5FirstWord(s: string): number {
  // Encoded first: encoding may replace `utf8` with a larger buffer.
  const n = encode(s);
  return md5FirstWordOfBytes(utf8, 0, n);
}

/** md5FirstWord of the string whose UTF-8 is `src[start..end)` (a key in a packed batch). */
export function md5FirstWordOfBytes(src: Uint8Array, start: number, end: number): number {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  let at = start;
  for (; end - at >= 64; at += 64) {
    // Copied in a loop: for a key's few blocks, cheaper than a call into `set`.
    for (let i = 0; i < 64; i++) block[i] = src[at + i]!;
    compress(1);
  }
  const tail = end - at;
  for (let i = 0; i < tail; i++) block[i] = src[at + i]!;
  // Padding: 0x80, zeros to 56 mod 64, then the message's bit length (little-endian 64-bit).
  const total = tail < 56 ? 64 : 128;
  block[tail] = 0x80;
  for (let i = tail + 1; i < total - 8; i++) block[i] = 0;
  const n = end - start;
  const low = (n << 3) >>> 0;
  const high = n >>> 29;
  for (let i = 0; i < 4; i++) {
    block[total - 8 + i] = (low >>> (8 * i)) & 255;
    block[total - 4 + i] = (high >>> (8 * i)) & 255;
  }
  compress(total >> 6);
  return state[0]! >>> 0;
}

/** The MD5 rounds over the first `blocks` blocks of `block`, from and into `state`. */
function compress(blocks: number): void {
  // The words are read little-endian, as MD5 defines them (a no-op on little-endian machines).
  if (!littleEndian) swapWords(blocks * 16);
  let a0 = state[0]!;
  let b0 = state[1]!;
  let c0 = state[2]!;
  let d0 = state[3]!;
  for (let first = 0; first < blocks * 16; first += 16) {
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const sum = (a + f + K[i]! + words[first + g]!) | 0;
      a = d;
      d = c;
      c = b;
      const s = S[i]!;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  state[0] = a0;
  state[1] = b0;
  state[2] = c0;
  state[3] = d0;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swapWords(count: number): void {
  const view = new DataView(block.buffer);
  for (let i = 0; i < count; i++) words[i] = view.getInt32(i * 4, true);
}
