/**
 * `wstape ca cert | info | regen`: the root CA that TLS interception signs with.
 *
 *   ca cert   the root certificate, PEM, on stdout (created on first use; a notice on stderr)
 *   ca info   where it lives, what it is, and how to make each client trust it; --json for one
 *             object with stable fields (add, never rename):
 *               dir, cert, key, leafKey   absolute paths
 *               subject                   "CN=..., O=wstape, OU=..."
 *               serialNumber              uppercase hex
 *               notBefore, notAfter       ISO 8601 UTC
 *               fingerprint256            SHA-256 of the DER, colon hex (as openssl prints it)
 *               leafSpkiSha256            base64 SHA-256 of the shared leaf key's SPKI (Chromium's
 *                                         --ignore-certificate-errors-spki-list)
 *               created                   true when this command created the CA
 *               trust                     [{ id, client, command }]
 *   ca regen  replace it (asks on a terminal; --yes to skip the question)
 *
 * node-forge is loaded only when a CA has to be made (src/tls/ca.ts loads it lazily).
 */
import { createInterface } from 'node:readline';
import type { Argv, CommandModule } from 'yargs';
import { EXIT_OK, cliError } from '../errors.js';
import { processIo, writeOut, type Io } from '../io.js';
import type { CaOptions, RootCa } from '../tls/ca.js';

export interface CaCommonOptions {
  caDir?: string | undefined;
}

export type CaCertOptions = CaCommonOptions;

export interface CaInfoOptions extends CaCommonOptions {
  json: boolean;
}

export interface CaRegenOptions extends CaCommonOptions {
  yes: boolean;
}

/** What `ca regen` reads its y/N answer from. */
export interface InputStream extends NodeJS.ReadableStream {
  isTTY?: boolean;
}

/** The command io plus stdin, which only `ca regen` reads. */
export interface CaIo extends Io {
  stdin?: InputStream;
}

/** The `ca info --json` object. Field order is the order they are printed in. */
export interface CaInfo {
  dir: string;
  cert: string;
  key: string;
  leafKey: string;
  subject: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  leafSpkiSha256: string;
  created: boolean;
  trust: { id: string; client: string; command: string }[];
}

async function caModule(): Promise<typeof import('../tls/ca.js')> {
  return import('../tls/ca.js');
}

function callbacks(io: Io, onCreated?: () => void): CaOptions {
  return {
    onCreate: (info) => {
      onCreated?.();
      io.stderr.write(`wstape: created a root CA in ${info.dir} (SHA-256 ${info.fingerprint256}); clients must trust it to be intercepted: wstape ca info\n`);
    },
    onWarning: (message) => io.stderr.write(`wstape: warning: ${message}\n`),
  };
}

async function openCa(options: CaCommonOptions, io: Io): Promise<{ ca: RootCa; created: boolean }> {
  const { loadOrCreateCa, resolveCaDir } = await caModule();
  let created = false;
  const ca = await loadOrCreateCa(
    resolveCaDir(options, io.env, io.cwd),
    callbacks(io, () => (created = true)),
  );
  return { ca, created };
}

/** `wstape ca cert`: the root certificate on stdout. */
export async function runCaCert(options: CaCertOptions, io: Io): Promise<number> {
  const { ca } = await openCa(options, io);
  await writeOut(io.stdout, ca.certPem.endsWith('\n') ? ca.certPem : `${ca.certPem}\n`);
  return EXIT_OK;
}

/** The `ca info --json` object for a CA. */
export async function caInfo(ca: RootCa, created: boolean): Promise<CaInfo> {
  const { trustSteps } = await import('../tls/trust.js');
  return {
    dir: ca.paths.dir,
    cert: ca.paths.cert,
    key: ca.paths.key,
    leafKey: ca.paths.leafKey,
    subject: ca.subject,
    serialNumber: ca.serialNumber,
    notBefore: ca.notBefore.toISOString(),
    notAfter: ca.notAfter.toISOString(),
    fingerprint256: ca.fingerprint256,
    leafSpkiSha256: ca.leafSpkiSha256Base64,
    created,
    trust: trustSteps(ca.paths.cert),
  };
}

/** `wstape ca info`: where the CA is, what it is, how to trust it. */
export async function runCaInfo(options: CaInfoOptions, io: Io): Promise<number> {
  const { ca, created } = await openCa(options, io);
  const info = await caInfo(ca, created);
  if (options.json) {
    await writeOut(io.stdout, `${JSON.stringify(info)}\n`);
    return EXIT_OK;
  }
  const date = (iso: string): string => `${iso.slice(0, 19).replace('T', ' ')} UTC`;
  const width = Math.max(...info.trust.map((step) => step.client.length));
  const lines = [
    `Certificate  ${info.cert}`,
    `Private key  ${info.key} (keep it private: whoever has it can intercept your trusted TLS)`,
    `Leaf key     ${info.leafKey}`,
    `Subject      ${info.subject}`,
    `Serial       ${info.serialNumber}`,
    `Valid        ${date(info.notBefore)} to ${date(info.notAfter)}`,
    `SHA-256      ${info.fingerprint256}`,
    `Leaf SPKI    ${info.leafSpkiSha256} (chromium --ignore-certificate-errors-spki-list=${info.leafSpkiSha256})`,
    '',
    'Trust it (each client has its own store; see docs/TLS.md, also for removing it):',
    ...info.trust.map((step) => `  ${step.client.padEnd(width)}  ${step.command}`),
    '',
    'curl --cacert and SSL_CERT_FILE replace the default CA list; NODE_EXTRA_CA_CERTS adds to it.',
  ];
  await writeOut(io.stdout, `${lines.join('\n')}\n`);
  return EXIT_OK;
}

/** Read one line from a stream; '' when it ends first. */
function readLine(input: InputStream): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });
}

/** `wstape ca regen`: replace the root CA after a y/N on a terminal, or with --yes. */
export async function runCaRegen(options: CaRegenOptions, io: CaIo): Promise<number> {
  const { loadCa, regenerateCa, resolveCaDir } = await caModule();
  const dir = resolveCaDir(options, io.env, io.cwd);
  const { onWarning } = callbacks(io);
  const existing = await loadCa(dir, onWarning ? { onWarning } : {});
  if (existing !== undefined && !options.yes) {
    if (io.stdin?.isTTY !== true) {
      throw cliError('ERR_USAGE', `ca regen replaces the root CA in ${dir} that clients trust; run it on a terminal to confirm, or pass --yes`);
    }
    io.stderr.write(
      `Replace the root CA in ${dir} (SHA-256 ${existing.fingerprint256})?\n` + 'Clients that trust it will reject wstape until they trust the new one. [y/N] ',
    );
    const answer = await readLine(io.stdin);
    if (!/^\s*y(es)?\s*$/i.test(answer)) {
      io.stderr.write('wstape: kept the existing root CA\n');
      return EXIT_OK;
    }
  }
  const ca = await regenerateCa(dir, onWarning ? { onWarning } : {});
  io.stderr.write(`wstape: ${existing ? 'replaced the' : 'created a'} root CA in ${ca.paths.dir}: SHA-256 ${ca.fingerprint256}\n`);
  if (existing) {
    io.stderr.write(
      'wstape: remove the old certificate from the stores that trust it and add the new one (wstape ca info); running recorders keep the old CA until restarted\n',
    );
  }
  return EXIT_OK;
}

export interface CaRunners {
  cert: (options: CaCertOptions, io: Io) => Promise<number>;
  info: (options: CaInfoOptions, io: Io) => Promise<number>;
  regen: (options: CaRegenOptions, io: CaIo) => Promise<number>;
}

/** The command module with the given runners (tests pass capturing ones). */
export function makeCaCommand(
  runners: CaRunners = { cert: runCaCert, info: runCaInfo, regen: runCaRegen },
  io: () => Io = processIo,
  // Only regen touches process.stdin.
  stdin: () => InputStream = () => process.stdin,
): CommandModule {
  const cert: CommandModule<CaCommonOptions, CaCertOptions> = {
    command: 'cert',
    describe: 'Print the root certificate (PEM) to trust, creating the CA on first use',
    handler: async (argv) => {
      process.exitCode = await runners.cert(argv, io());
    },
  };
  const info: CommandModule<CaCommonOptions, CaInfoOptions> = {
    command: 'info',
    describe: 'Show where the CA lives, its fingerprint, and how to make each client trust it',
    builder: (yargs) => yargs.option('json', { type: 'boolean', default: false, describe: 'One JSON object (stable fields)' }),
    handler: async (argv) => {
      process.exitCode = await runners.info(argv, io());
    },
  };
  const regen: CommandModule<CaCommonOptions, CaRegenOptions> = {
    command: 'regen',
    describe: 'Replace the root CA and the leaf key (clients must trust the new one)',
    builder: (yargs) => yargs.option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask' }),
    handler: async (argv) => {
      process.exitCode = await runners.regen(argv, { ...io(), stdin: stdin() });
    },
  };
  return {
    command: 'ca',
    builder: (yargs: Argv) =>
      yargs
        .option('ca-dir', { type: 'string', normalize: true, describe: 'CA folder (default: $WSTAPE_HOME, else ~/.wstape)' })
        .command(cert as unknown as CommandModule)
        .command(info as unknown as CommandModule)
        .command(regen as unknown as CommandModule)
        .demandCommand(1, 'Name a subcommand: wstape ca cert, info or regen.')
        .example('$0 ca cert > wstape-ca.pem', 'the certificate to add to a trust store')
        .example('$0 ca info', 'fingerprint, files, and trust commands for Node, curl, Python, browsers, OS stores')
        .example('NODE_EXTRA_CA_CERTS=$(wstape ca info --json | jq -r .cert) node app.js', 'a Node app that trusts wstape')
        .example('$0 ca regen --yes', 'replace the CA without asking'),
    handler: () => {
      // demandCommand(1) makes yargs print usage when no subcommand is named.
    },
  };
}

/** The `ca` command; cli.ts registers it when `wstape ca` runs (its description is in the table there). */
export const caCommand: CommandModule = makeCaCommand();
