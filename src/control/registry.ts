/**
 * Where running recorders are found: one registry file per recorder in the run folder
 * (`$WSTAPE_HOME/run/`, else `~/.wstape/run/`), named `PID-PORT.json`, holding its pid, port,
 * archive path and control socket path. The folder is 0700 and every file in it 0600, all owned
 * by the user: Node cannot ask a Unix socket who its peer is (no SO_PEERCRED), so the file modes
 * are what keeps other users out, and both sides check them: the recorder when it creates them
 * and on each request, the client before it trusts a file or connects.
 *
 * A registry file whose pid is no longer running is stale (a recorder that was killed): it is
 * ignored and removed, with its socket, when recorders are looked up.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cliError } from '../errors.js';
import { sameFile } from '../io.js';
import { CONTROL_PROTOCOL_VERSION } from './protocol.js';

export const RUN_FOLDER = 'run';
const REGISTRY_FILE = /^(\d+)-(\d+)\.json$/;
/** A registry file is a few hundred bytes; anything much larger is not one. */
const MAX_REGISTRY_BYTES = 64 * 1024;
/**
 * sun_path is 108 bytes on Linux and 104 on macOS, with its NUL: a longer socket path cannot be
 * bound, so such sockets go to a private folder under the temp folder instead.
 */
const MAX_SOCKET_PATH_BYTES = 103;

/** What a registry file says about one running recorder. */
export interface RecorderInfo {
  version: 1;
  pid: number;
  port: number;
  /** Absolute path of the archive it writes. */
  archivePath: string;
  /** Absolute path of its control socket. */
  socketPath: string;
  /** ISO 8601. */
  startedAt: string;
}

/** A recorder found in the run folder, with the file that names it. */
export interface FoundRecorder extends RecorderInfo {
  registryPath: string;
}

/** The wstape home: $WSTAPE_HOME, else ~/.wstape (as the CA folder's default, src/tls/ca.ts). */
export function resolveHome(env: Record<string, string | undefined>, cwd: string): string {
  if (env.WSTAPE_HOME !== undefined && env.WSTAPE_HOME !== '') return path.resolve(cwd, env.WSTAPE_HOME);
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.wstape');
}

export function runFolder(home: string): string {
  return path.join(path.resolve(home), RUN_FOLDER);
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Why a file or folder may not be trusted as private to this user, or undefined when it may:
 * not of the expected kind, owned by another user, or open to others (`privateMode` is the
 * widest mode allowed: 0700 for a folder, 0600 for a file or socket). Not checked on Windows,
 * which has no POSIX modes.
 */
export function privacyProblem(file: string, info: Stats, kind: 'folder' | 'file' | 'socket'): string | undefined {
  const isKind = kind === 'folder' ? info.isDirectory() : kind === 'file' ? info.isFile() : info.isSocket();
  if (!isKind) return `${file} is not a ${kind}${info.isSymbolicLink() ? ' (it is a symbolic link)' : ''}`;
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  if (info.uid !== uid) return `${file} is owned by another user (uid ${info.uid}), not you (uid ${uid})`;
  const allowed = kind === 'folder' ? 0o700 : 0o600;
  if ((info.mode & 0o777 & ~allowed) !== 0) return `${file} is open to other users (mode ${octal(info.mode)}; it must be ${octal(allowed)} at most)`;
  return undefined;
}

/**
 * Create a private folder (0700), or check an existing one: a folder of ours that is open to
 * others is tightened to 0700 (it holds only wstape's run files); one of another user's is refused.
 */
export async function preparePrivateFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw cliError('ERR_CONTROL', `cannot create the control folder ${dir}: ${errnoCode(error) ?? String(error)}`);
  }
  const info = await lstat(dir);
  const problem = privacyProblem(dir, info, 'folder');
  if (problem === undefined) return;
  if (info.isDirectory() && info.uid === process.getuid?.()) {
    await chmod(dir, 0o700);
    return;
  }
  throw cliError('ERR_CONTROL', problem);
}

/**
 * Where a recorder's socket goes: `RUN/PID-PORT.sock`, or, when that path is too long to bind,
 * the same name in a private `wstape-UID` folder under the temp folder (the registry file says
 * where it is).
 */
export async function socketPathFor(home: string, pid: number, port: number): Promise<string> {
  const name = `${pid}-${port}.sock`;
  const inRun = path.join(runFolder(home), name);
  if (Buffer.byteLength(inRun) <= MAX_SOCKET_PATH_BYTES) return inRun;
  const uid = process.getuid?.() ?? 'user';
  for (const base of [os.tmpdir(), '/tmp']) {
    const candidate = path.join(base, `wstape-${uid}`, name);
    if (Buffer.byteLength(candidate) <= MAX_SOCKET_PATH_BYTES) {
      await preparePrivateFolder(path.dirname(candidate));
      return candidate;
    }
  }
  throw cliError(
    'ERR_CONTROL',
    `no control socket path short enough to bind (${inRun} is over ${MAX_SOCKET_PATH_BYTES} bytes); set WSTAPE_HOME to a shorter folder`,
  );
}

/** The registry file of a recorder: RUN/PID-PORT.json. */
export function registryPathFor(home: string, pid: number, port: number): string {
  return path.join(runFolder(home), `${pid}-${port}.json`);
}

/** Write a registry file 0600, whole or not at all (a temporary name, then rename). */
export async function writeRegistryFile(file: string, info: RecorderInfo): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(info)}\n`);
    // The mode given to open() is reduced by the umask; say it again to be sure of it.
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

/** Remove a file that may already be gone. */
export async function removeQuietly(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch {
    // already gone, or never made
  }
}

/** Remove a dead recorder's socket: only a socket, and only one of ours. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  try {
    const info = await lstat(socketPath);
    if (info.isSocket() && info.uid === (process.getuid?.() ?? info.uid)) await unlink(socketPath);
  } catch {
    // gone already
  }
}

/** Whether a process with this pid runs as this user (EPERM: another user's, so not our recorder). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Read and check one registry file; throws ERR_CONTROL when it may not be trusted. */
async function readRegistryFile(file: string): Promise<RecorderInfo | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined; // removed by its recorder meanwhile
    if (errnoCode(error) === 'ELOOP') throw cliError('ERR_CONTROL', `refusing ${file}: it is a symbolic link`);
    throw cliError('ERR_CONTROL', `cannot read ${file}: ${errnoCode(error) ?? String(error)}`);
  }
  try {
    // Checked on the open file itself, so nothing can swap it between the check and the read.
    const info = await handle.stat();
    const problem = privacyProblem(file, info, 'file');
    if (problem !== undefined) throw cliError('ERR_CONTROL', `refusing ${problem}; remove it, or fix it with chmod 600 if it is yours`);
    if (info.size > MAX_REGISTRY_BYTES) return undefined;
    return parseRegistry(await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}

function parseRegistry(text: string): RecorderInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.version !== CONTROL_PROTOCOL_VERSION) return undefined;
  if (typeof v.pid !== 'number' || typeof v.port !== 'number' || typeof v.archivePath !== 'string' || typeof v.socketPath !== 'string') return undefined;
  return {
    version: 1,
    pid: v.pid,
    port: v.port,
    archivePath: v.archivePath,
    socketPath: v.socketPath,
    startedAt: typeof v.startedAt === 'string' ? v.startedAt : '',
  };
}

/**
 * The recorders running as this user, by port. Registry files of dead pids are removed (with
 * their sockets); a file or folder another user could have written is refused (ERR_CONTROL).
 */
export async function listRecorders(home: string): Promise<FoundRecorder[]> {
  const dir = runFolder(home);
  let info: Stats;
  try {
    info = await lstat(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw cliError('ERR_CONTROL', `cannot read the control folder ${dir}: ${errnoCode(error) ?? String(error)}`);
  }
  const problem = privacyProblem(dir, info, 'folder');
  if (problem !== undefined) throw cliError('ERR_CONTROL', `refusing the control folder: ${problem}`);
  const found: FoundRecorder[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const match = REGISTRY_FILE.exec(name);
    if (match === null) continue;
    const registryPath = path.join(dir, name);
    const entry = await readRegistryFile(registryPath);
    // A file that is not a registry entry of this version, or names another pid than its name, is ignored.
    if (entry === undefined || String(entry.pid) !== match[1] || String(entry.port) !== match[2]) continue;
    if (!isRunning(entry.pid)) {
      await removeQuietly(registryPath);
      await removeStaleSocket(entry.socketPath);
      continue;
    }
    found.push({ ...entry, registryPath });
  }
  return found.sort((a, b) => a.port - b.port || a.pid - b.pid);
}

function describe(recorder: RecorderInfo): string {
  return `port ${recorder.port} (${recorder.archivePath})`;
}

/**
 * The one recorder `--recorder` names (a port, or the path of the archive it writes), or the only
 * one running when it names none. Throws ERR_RECORDER with what does run.
 */
export async function findRecorder(home: string, selector: string | undefined, cwd: string): Promise<FoundRecorder> {
  const recorders = await listRecorders(home);
  const running = recorders.length === 0 ? 'none runs' : `running: ${recorders.map(describe).join(', ')}`;
  if (selector === undefined || selector === '') {
    const [only, ...others] = recorders;
    if (only === undefined)
      throw cliError('ERR_RECORDER', `no wstape recorder is running as this user (looked in ${runFolder(home)}); start one with wstape record`);
    if (others.length > 0) throw cliError('ERR_RECORDER', `several recorders are running; name one with --recorder PORT or --recorder ARCHIVE (${running})`);
    return only;
  }
  const matches = /^\d+$/.test(selector)
    ? recorders.filter((recorder) => recorder.port === Number(selector))
    : recorders.filter((recorder) => sameFile(path.resolve(cwd, selector), recorder.archivePath));
  const [first, ...more] = matches;
  if (first === undefined) throw cliError('ERR_RECORDER', `no recorder matches --recorder ${selector} (${running})`);
  if (more.length > 0)
    throw cliError('ERR_RECORDER', `several recorders match --recorder ${selector} (pids ${matches.map((m) => m.pid).join(', ')}); name the archive instead`);
  return first;
}
