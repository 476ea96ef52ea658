#!/bin/sh
':' //; exec node --max-semi-space-size=4 --heap-growing-percent=100 "$0" "$@"
/*
 * The `migrate` command. To sh, the line above starts Node on this file with two heap settings; to Node,
 * it is a string and a comment. A run's batches live in buffers and its per-row objects die young, so:
 * - a young generation of 3 × 4 MB instead of 3 × 16 MB (the larger one only held garbage);
 * - the old generation may grow to twice its live size between full collections instead of up to four
 *   times (batches of decoded rows, MySQL's, are promoted and die soon after).
 * Together about 50 MB less resident memory for a PostgreSQL run and 100 MB less for a MySQL one, for
 * 2–3% of the speed (README "Speed and memory"). `node bin/migrate.js` and `node dist/cli/main.js` work
 * too, with Node's default heap.
 */
import '../dist/cli/main.js';
