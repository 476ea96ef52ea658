#!/bin/sh
':' //; exec node --max-semi-space-size=4 --heap-growing-percent=100 "$0" "$@"
/*
 * The `migrate` command. To sh, the line above starts Node on this file with two heap settings; to Node,
 * it is a string and a comment. A run's batches live in buffers and its per-row objects die young, so:
 * - a small young generation (4 MB semi-spaces instead of 16: the larger one only held garbage);
 * - the old generation may grow to twice its live size between full collections instead of up to four
 *   times (batches of decoded rows, MySQL's, are promoted and die soon after).
 * Both keep a run's resident memory down for little speed (`npm run bench` measures it).
 * `node dist/cli/entry.js` runs the same CLI with Node's default heap.
 */
import { start } from '../dist/cli/main.js';

start();
