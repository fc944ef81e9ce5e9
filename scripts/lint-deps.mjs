#!/usr/bin/env node
/**
 * `npm run lint:deps`: the layer rules of .dependency-cruiser.cjs over src/ and the test helpers.
 *
 * Through dependency-cruiser's API rather than its `depcruise` binary: the binary refuses to start
 * on Node 20 (it follows Node's release cycle, ^22), while the API it wraps runs fine on the Node
 * this project supports (>= 20.19). Prints one line per violation; exits 1 when there is an error.
 */
import { createRequire } from 'node:module';
import { cruise, format } from 'dependency-cruiser';

const require = createRequire(import.meta.url);
const config = require('../.dependency-cruiser.cjs');
const targets = process.argv.length > 2 ? process.argv.slice(2) : ['src', 'test/helpers', 'test/har/helpers.ts'];

const result = await cruise(targets, { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden } });
const report = await format(result.output, { outputType: 'err' });
process.stdout.write(report.output);
process.exitCode = result.output.summary.error > 0 ? 1 : 0;
