// How many rows a chunk gets (engine/chunks.ts chunkRows): without --workers, chunks of at most 500,000
// rows whose number is a multiple of the lanes (so the lanes finish together), a table of up to 250,000
// rows in one chunk; with --workers N, two chunks per worker of at most 250,000 rows, at least 20,000.
import { describe, expect, it } from 'vitest';
import { CHUNK_ROWS, chunkRows, MIN_CHUNK_ROWS, WORKER_CHUNK_ROWS } from '../../src/engine/chunks.js';

/** The number of chunks a table of `rows` rows is split into at `every` rows per chunk (planChunks). */
const chunksOf = (rows: number, every: number) => (rows <= every ? 1 : Math.ceil(rows / every));

describe('chunkRows', () => {
  it('without --workers: at most 500,000 rows, a multiple of the lanes, small tables whole', () => {
    const cases: [rows: number, every: number][] = [
      [0, CHUNK_ROWS],
      [200_000, CHUNK_ROWS],
      [250_000, CHUNK_ROWS],
      [300_000, 150_000],
      [987_811, 493_906],
      [1_000_000, 500_000],
      [1_200_000, 300_000],
      [5_000_000, 500_000],
      [5_100_000, 425_000],
    ];
    for (const [rows, every] of cases) expect([rows, chunkRows(rows, undefined, 2)]).toEqual([rows, every]);
    for (let rows = 250_001; rows < 20_000_000; rows = Math.ceil(rows * 1.37)) {
      for (const lanes of [1, 2, 3]) {
        const every = chunkRows(rows, undefined, lanes);
        expect(every).toBeLessThanOrEqual(CHUNK_ROWS);
        expect([rows, lanes, chunksOf(rows, every) % lanes]).toEqual([rows, lanes, 0]);
      }
    }
  });

  it('with --workers N: two chunks per worker, between 20,000 and 250,000 rows', () => {
    expect(chunkRows(120_000, 4, 2)).toBe(MIN_CHUNK_ROWS);
    expect(chunkRows(150_000, 3, 2)).toBe(25_000);
    expect(chunkRows(80_000, 2, 2)).toBe(20_000);
    expect(chunkRows(10_000_000, 2, 2)).toBe(WORKER_CHUNK_ROWS);
  });
});
