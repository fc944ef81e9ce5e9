#!/usr/bin/env node
// The published entry point: the CLI bundled into dist/bundle/ (tsc's dist/, then
// scripts/bundle.mjs; `npm run build` does both, and `npm ci` runs it through `prepare`).
import { main } from '../dist/bundle/cli.js';

main(process.argv.slice(2));
