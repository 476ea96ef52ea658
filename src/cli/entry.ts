#!/usr/bin/env node
/** `node dist/cli/entry.js …`: the CLI with Node's default heap (bin/migrate.js picks heap settings). */
import { start } from './main.js';

start();
