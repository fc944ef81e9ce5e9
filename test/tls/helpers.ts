/**
 * What the TLS tests share: temporary CA folders, third-party tools that must be present (a
 * missing one fails the test with the Debian package to install; it never skips), and the TLS
 * modules compiled to plain JavaScript for child processes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function tempDir(prefix = 'wstape-tls-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The external tools the TLS tests use as strict, independent clients, and their Debian packages. */
export const TOOLS = {
  openssl: 'openssl',
  curl: 'curl',
  python3: 'python3',
} as const;

/** The tool's path; throws (failing the test, never skipping it) when it is not installed. */
export function requireTool(name: keyof typeof TOOLS): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const where = found.stdout.trim();
  if (found.status !== 0 || where === '') {
    throw new Error(`${name} is not installed: the TLS tests need it as an independent client (Debian package "${TOOLS[name]}"; CI installs it in .ci/run)`);
  }
  return where;
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for external tools: no proxy variables (curl and Python would honour them). */
export function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_PROXY: '*', no_proxy: '*' };
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE']) {
    delete env[name];
  }
  return env;
}

/** Run a program asynchronously (the TLS server under test runs in this process). */
export function runTool(command: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Compile src/errors.ts and src/tls/*.ts (which import nothing else from src/) to JavaScript under node_modules/.cache (so 'node-forge'
 * resolves from there) for child processes, which cannot load TypeScript on Node 20. Returns the
 * folder that holds src/.
 */
export async function compileTlsForChildren(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const cache = path.join(ROOT, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const root = await mkdtemp(path.join(cache, 'wstape-tls-test-'));
  await writeFile(path.join(root, 'package.json'), '{ "type": "module" }\n');
  const tlsFiles = (await readdir(path.join(ROOT, 'src/tls'))).filter((name) => name.endsWith('.ts')).map((name) => `src/tls/${name}`);
  for (const file of ['src/errors.ts', ...tlsFiles]) {
    const source = await readFile(path.join(ROOT, file), 'utf8');
    const output = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    });
    const target = path.join(root, file.replace(/\.ts$/, '.js'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, output.outputText);
  }
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}
