#!/bin/sh
':' //; exec node --max-semi-space-size=4 "$0" "$@"
/*
 * The `migrate` command. To sh, the line above starts Node on this file with a young generation of
 * 3 × 4 MB instead of 3 × 16 MB: a run's rows and batches live in buffers, so the larger one only held
 * garbage (about 50 MB of a run's resident memory, for 2% of its speed; see README "Speed and memory").
 * To Node, that line is a string and a comment. `node bin/migrate.js` and `node dist/cli/main.js` work too,
 * with Node's default heap.
 */
import '../dist/cli/main.js';
