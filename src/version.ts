import { existsSync, readFileSync } from 'node:fs';

/**
 * This package's name and version, read once from package.json: one level above this file in
 * src/ and dist/, two in the bundle the CLI runs (dist/bundle/, scripts/bundle.mjs).
 */
const file = [new URL('../package.json', import.meta.url), new URL('../../package.json', import.meta.url)].find((url) => existsSync(url));
if (file === undefined) throw new Error(`package.json not found above ${import.meta.url}`);
const pkg = JSON.parse(readFileSync(file, 'utf8')) as {
  name: string;
  version: string;
};

export const PACKAGE_NAME: string = pkg.name;
export const PACKAGE_VERSION: string = pkg.version;
