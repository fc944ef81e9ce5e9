/**
 * The CA folder's file handling: checking and tightening permissions on the folder and the key
 * files, and publishing new files so that concurrent processes never see two CAs (see ca.ts).
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, link, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cliError, isCliError } from '../errors.js';

export interface FileText {
  text: string;
  mtimeMs: number;
}

/** Read a file; undefined when it does not exist. */
export async function readOptional(file: string): Promise<FileText | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw cliError('ERR_CA', `cannot read ${file}: ${errorText(error)}`);
  }
  try {
    const info = await handle.stat();
    return { text: await handle.readFile('utf8'), mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * Read a private key file, checking the open file itself (no race between check and read): it
 * must be a regular file owned by us (or root), and readable by nobody else. A file that others
 * can read is tightened to 0600 with a warning; one that cannot be tightened is refused.
 */
export async function readPrivateFile(file: string, warn: (message: string) => void): Promise<FileText | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw cliError('ERR_CA', `${file} is a symbolic link; a private key must be a plain file in the CA folder`);
    throw cliError('ERR_CA', `cannot read ${file}: ${errorText(error)}`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw cliError('ERR_CA', `${file} is not a regular file`);
    const uid = process.getuid?.();
    if (uid !== undefined) {
      if (info.uid !== uid && info.uid !== 0) {
        throw cliError(
          'ERR_CA',
          `${file} is owned by another user (uid ${info.uid}), who could sign certificates you trust; use a CA folder of your own (--ca-dir or WSTAPE_HOME)`,
        );
      }
      if ((info.mode & 0o077) !== 0) {
        try {
          await handle.chmod(0o600);
        } catch (error) {
          throw cliError(
            'ERR_CA',
            `${file} is readable by other users (mode ${octal(info.mode)}) and cannot be made private (${errorText(error)}); fix it with chmod 600 or use another --ca-dir`,
          );
        }
        warn(`${file} was readable by other users (mode ${octal(info.mode)}); changed it to 0600`);
      }
    }
    return { text: await handle.readFile('utf8'), mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

const OWN_FILE = /^(?:ca\.pem|ca\.key|leaf\.key|\.(?:ca\.pem|ca\.key|leaf\.key)\.[\w.-]+\.tmp)$/;

/**
 * Create the folder 0700, or check an existing one: ours (or root's), not writable by others. A
 * folder others can read is tightened to 0700 when it holds only wstape's files; a folder with
 * other files in it (someone's `--ca-dir .`) is left alone with a warning, the keys are 0600.
 */
export async function prepareDir(dir: string, warn: (message: string) => void): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw cliError('ERR_CA', `cannot create the CA folder ${dir}: ${errorText(error)}`);
  }
  const info = await stat(dir);
  if (!info.isDirectory()) throw cliError('ERR_CA', `${dir} is not a folder`);
  const uid = process.getuid?.();
  if (uid === undefined) return; // Windows: no POSIX modes; the profile folder is private.
  if (info.uid !== uid && info.uid !== 0) {
    throw cliError('ERR_CA', `the CA folder ${dir} belongs to another user (uid ${info.uid}); use a folder of your own (--ca-dir or WSTAPE_HOME)`);
  }
  if ((info.mode & 0o002) !== 0) {
    throw cliError(
      'ERR_CA',
      `the CA folder ${dir} is writable by every user (mode ${octal(info.mode)}), who could replace the CA; use a private folder (--ca-dir or WSTAPE_HOME)`,
    );
  }
  if ((info.mode & 0o077) === 0) return;
  const entries = await readdir(dir);
  if (entries.every((name) => OWN_FILE.test(name))) {
    try {
      await chmod(dir, 0o700);
    } catch (error) {
      throw cliError('ERR_CA', `the CA folder ${dir} is open to other users (mode ${octal(info.mode)}) and cannot be made private: ${errorText(error)}`);
    }
    warn(`the CA folder ${dir} was open to other users (mode ${octal(info.mode)}); changed it to 0700`);
  } else {
    warn(`the CA folder ${dir} is open to other users (mode ${octal(info.mode)}) and holds other files; left as is (the key files are 0600)`);
  }
}

export interface PendingFile {
  final: string;
  text: string;
  mode: number;
}

/**
 * Write each file to a temporary name (fsynced), then publish it: 'exclusive' links it to its
 * final name, which fails if the name exists (the first file decides: if it exists, nothing is
 * published and false is returned; later files that exist are left as they are); 'replace'
 * renames over the final name. Temporary files are always removed.
 */
export async function publishFiles(files: PendingFile[], mode: 'exclusive' | 'replace'): Promise<boolean> {
  const temps: string[] = [];
  try {
    for (const file of files) {
      const temp = path.join(path.dirname(file.final), `.${path.basename(file.final)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await open(temp, 'wx', file.mode);
      temps.push(temp);
      try {
        await handle.writeFile(file.text);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const [index, file] of files.entries()) {
      const temp = temps[index]!;
      if (mode === 'replace') {
        await rename(temp, file.final);
        continue;
      }
      const published = await linkExclusive(temp, file.final, file);
      if (!published && index === 0) return false;
    }
    return true;
  } catch (error) {
    if (isCliError(error)) throw error;
    throw cliError('ERR_CA', `cannot write the CA in ${path.dirname(files[0]?.final ?? '.')}: ${errorText(error)}`);
  } finally {
    await Promise.all(temps.map((temp) => unlink(temp).catch(() => undefined)));
  }
}

/** link(2) temp → final; false if final exists. Filesystems without hard links get an O_EXCL write. */
async function linkExclusive(temp: string, final: string, file: PendingFile): Promise<boolean> {
  try {
    await link(temp, final);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV') throw error;
  }
  // Not atomic (a reader may see a partial file), which readCa treats as "still being written".
  let handle: FileHandle;
  try {
    handle = await open(final, 'wx', file.mode);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(file.text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
