/**
 * The first 32-bit word of MD5(UTF-8 of a string): what ketama places a key by. Computed here in plain
 * arithmetic because a call into node:crypto costs about a microsecond for a 20-byte key (its fixed
 * overhead), several times the hash itself, and the cache does it for every key it stores or reads.
 * Checked against node:crypto in the unit tests (every length up to a few blocks, non-ASCII, surrogates).
 */

/** Message buffer: keys are at most 250 bytes in memcached; longer ones grow it. */
let bytes = new Uint8Array(320);
let words = new Int32Array(bytes.buffer);

const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
  21, 6, 10, 15, 21,
];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

/** UTF-8 of `s` into `bytes` (lone surrogates as U+FFFD, as Buffer.from does); returns the length. */
function encode(s: string): number {
  if (bytes.length < s.length * 3 + 72) {
    bytes = new Uint8Array(s.length * 3 + 72 + 64);
    words = new Int32Array(bytes.buffer, 0, bytes.length >> 2);
  }
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
  const n = encode(s);
  // Padding: 0x80, zeros to 56 mod 64, then the bit length (little-endian 64-bit).
  const total = ((n + 8) >> 6) * 64 + 64;
  bytes[n] = 0x80;
  bytes.fill(0, n + 1, total);
  let bits = n * 8;
  for (let i = total - 8; i < total; i++) {
    bytes[i] = bits & 255;
    bits = Math.floor(bits / 256);
  }
  // The words are read little-endian, as MD5 defines them (a no-op on little-endian machines).
  if (!littleEndian) swapWords(total >> 2);

  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let block = 0; block < total >> 2; block += 16) {
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
      const sum = (a + f + K[i]! + words[block + g]!) | 0;
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
  return a0 >>> 0;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function swapWords(count: number): void {
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) words[i] = view.getInt32(i * 4, true);
}
