/**
 * The CLI as a few bundled files: dist/bundle/cli.js and the chunks its commands load lazily,
 * built from tsc's dist/ by esbuild (`npm run build` runs both). bin/wstape.js runs the bundle.
 *
 * Why: Node 20 has no compile cache for ES modules, so every file a command imports is found,
 * read and compiled on each run. yargs and zod alone arrive as about 145 small files; in a bundle
 * they are a handful, and `wstape show` starts in about half the time (BENCHMARKS.md, Startup).
 * The commands stay lazy: each is its own entry of src/cli.ts's dynamic imports, so esbuild
 * splits them into chunks that load only when that command runs.
 *
 * The browser viewer (src/viewer/, `wstape export --format html` and `wstape view`) is a second,
 * separate bundle: dist/viewer-bundle/viewer.js, one self-contained script for a browser, built
 * straight from the TypeScript sources (esbuild strips the types; `tsc -p src/viewer` checks
 * them), minified because every exported page carries it inline.
 *
 * node-forge, protobufjs and msgpackr stay outside (their own files in node_modules): they are
 * loaded on first use with createRequire, and only by the commands that need them. The library
 * entry (dist/index.js, the hook types) is tsc's output, not this bundle.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'bundle');
const viewerOutdir = path.join(root, 'dist', 'viewer-bundle');

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'dist', 'cli.js')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  // Flat, so that a chunk's URL is two levels under the package root (src/version.ts relies on it).
  chunkNames: '[name]-[hash]',
  external: ['node-forge', 'protobufjs', 'msgpackr'],
  // CommonJS packages inside the bundle (cli-table3 and its helpers) call require() for Node's
  // own modules; an ES module has no require, so the bundle makes one.
  banner: { js: "import { createRequire as __wstapeCreateRequire } from 'node:module'; const require = __wstapeCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});

rmSync(viewerOutdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'src', 'viewer', 'main.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: path.join(viewerOutdir, 'viewer.js'),
  minify: true,
  // The viewer runs where Node's modules do not exist: importing one is a build error, not a
  // runtime surprise (dependency-cruiser's viewer-runs-in-a-browser rule says the same earlier).
  external: [],
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: path.join(root, 'src', 'viewer', 'tsconfig.json'),
});
