/**
 * `wstape redact`: argv → options, and runRedact on hand-built archives (what it writes, --check,
 * --dry-run, refusing to overwrite, bad input) and on sessions recorded for real through the
 * in-process recorder, with the `ws` library as both peers: a fragmented JSON message carrying a
 * password, a permessage-deflate session, auth headers, a query token and a subprotocol token.
 * The redacted file's raw bytes must hold none of the secrets.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { defaultRedactedPath, redactCommand, redactOptions, runRedact, type RedactOptions } from '../../src/commands/redact.js';
import { isCliError } from '../../src/errors.js';
import { openArchive } from '../../src/format/archive-reader.js';
import { entrySchema, type Entry, type FrameEntry } from '../../src/format/schema.js';
import { parseCommand } from '../helpers/argv.js';
import { openClient, readEntries, startRecorder, startWsServer, waitFor, countEntries } from '../helpers/peers.js';
import { makeJwt } from '../redact/helpers.js';
import { connection, end, fakeIo, frame, httpExchange, tempDir, writeArchive } from '../output/test-archives.js';

async function parseArgs(argv: string[]): Promise<RedactOptions> {
  return redactOptions(await parseCommand(redactCommand, argv));
}

const base: RedactOptions = { file: 'a.wstape.json', noDefaults: false, dryRun: false, check: false, force: false, json: false };

describe('redact: argv -> options', () => {
  it.each<[string[], Partial<RedactOptions>]>([
    [['redact', 'a.wstape.json'], { file: 'a.wstape.json', noDefaults: false, dryRun: false, check: false, force: false, json: false }],
    [['redact', 'a.wstape.json', '-o', 'b.wstape.json'], { out: 'b.wstape.json' }],
    [['redact', 'a.wstape.json', '--rule', 'header:X-A', '--rule', 'json:^pin$'], { rule: ['header:X-A', 'json:^pin$'] }],
    [['redact', 'a.wstape.json', '--no-defaults', '--rule', 'regex:x'], { noDefaults: true }],
    [['redact', 'a.wstape.json', '--dry-run'], { dryRun: true }],
    [['redact', '--check', 'a.wstape.json'], { check: true }],
    [['redact', 'a.wstape.json', '--force', '--json'], { force: true, json: true }],
  ])('%j', async (argv, expected) => {
    expect(await parseArgs(argv)).toMatchObject(expected);
  });

  it.each([[['redact']], [['redact', 'a', '--bogus']], [['redact', 'a', '--check', '-o', 'b']], [['redact', 'a', '--check', '--force']]])(
    'rejects %j',
    async (argv) => {
      await expect(parseArgs(argv)).rejects.toThrow();
    },
  );

  it('reads --no-defaults as defaults: false where boolean negation is on', () => {
    expect(redactOptions({ file: 'a', defaults: false }).noDefaults).toBe(true);
  });

  it.each([
    ['bug.wstape.json', 'bug.redacted.wstape.json'],
    ['dir/bug.WSTAPE.JSON', 'dir/bug.redacted.WSTAPE.JSON'],
    ['bug.json', 'bug.redacted.json'],
    ['bug', 'bug.redacted.wstape.json'],
  ])('default output for %s is %s', (file, out) => {
    expect(defaultRedactedPath(file)).toBe(out);
  });
});

const JWT = makeJwt({ sub: 'user-1', role: 'admin' });
const SECRETS = ['hunter2-password', 'sk_live_secret_0123', 'oauth-code-987', 'sid-cookie-value', JWT];

function sampleArchive(): Entry[] {
  return [
    connection('c1', {
      url: 'ws://127.0.0.1:9000/chat?token=sk_live_secret_0123',
      request: {
        method: 'GET',
        target: '/chat?token=sk_live_secret_0123',
        httpVersion: '1.1',
        headers: [
          ['Host', '127.0.0.1:9000'],
          ['Cookie', 'sid=sid-cookie-value'],
        ],
      },
    }),
    frame({ index: 0, text: '{"password":"hunter2-password"}', size: 31, wireSize: 37 }),
    frame({ index: 1, dir: 'in', masked: false, mask: undefined, text: `{"jwt":"x","note":"${JWT}"}`, size: 0, wireSize: 0 }),
    end('c1'),
    httpExchange('h1', {
      url: 'http://127.0.0.1:9000/cb?code=oauth-code-987',
      request: { method: 'GET', target: '/cb?code=oauth-code-987', httpVersion: '1.1', headers: [] },
    }),
  ].map((entry) =>
    entry.kind === 'frame' && entry.text !== undefined ? { ...entry, size: Buffer.byteLength(entry.text), wireSize: Buffer.byteLength(entry.text) + 6 } : entry,
  );
}

describe('runRedact on hand-built archives', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('writes FILE.redacted.wstape.json: valid, same shape, none of the secrets, summary on stderr', async () => {
    const file = await writeArchive(join(dir, 'bug.wstape.json'), sampleArchive());
    const io = fakeIo();
    expect(await runRedact({ ...base, file }, io)).toBe(0);
    const out = join(dir, 'bug.redacted.wstape.json');
    const raw = readFileSync(out, 'utf8');
    for (const secret of SECRETS) expect(raw).not.toContain(secret);
    expect(raw).toContain('[REDACTED]');

    const reader = await openArchive(out);
    const entries: Entry[] = [];
    for await (const entry of reader.entries()) entries.push(entrySchema.parse(entry));
    expect(reader.complete).toBe(true);
    expect(entries.map((entry) => entry.kind)).toEqual(sampleArchive().map((entry) => entry.kind));
    for (const entry of entries) if (entry.kind === 'frame') expect(entry.size).toBe(Buffer.byteLength(entry.text!));

    const err = io.err();
    expect(err).toMatch(/^wstape: redacted \d+ values in 4 entries; wrote .*bug\.redacted\.wstape\.json:\n/);
    expect(err).toContain('    c1 #0 text $.password\n');
    expect(err).toContain('    c1 request header Cookie\n');
    expect(err).toContain('    h1 url query code\n');
    expect(err).toContain('best-effort');
    for (const secret of SECRETS) expect(err).not.toContain(secret);
    expect(io.out()).toBe('');
  });

  it('--json prints the summary object on stdout', async () => {
    const file = await writeArchive(join(dir, 'a.wstape.json'), sampleArchive());
    const io = fakeIo();
    await runRedact({ ...base, file, out: join(dir, 'b.wstape.json'), json: true }, io);
    const summary = JSON.parse(io.out()) as {
      out: string;
      written: boolean;
      total: number;
      entries: number;
      rules: Array<{ id: string; count: number; places: string[] }>;
    };
    expect(summary).toMatchObject({ out: join(dir, 'b.wstape.json'), written: true, entries: 4 });
    expect(summary.rules.map((rule) => rule.id)).toEqual(['headers', 'subprotocol', 'userinfo', 'query', 'jwt', 'json']);
    expect(summary.total).toBe(summary.rules.reduce((sum, rule) => sum + rule.count, 0));
  });

  it('--check exits 1 and says what, on an archive with secrets; 0 on the redacted one and on a clean one', async () => {
    const file = await writeArchive(join(dir, 'a.wstape.json'), sampleArchive());
    const io = fakeIo();
    expect(await runRedact({ ...base, file, check: true }, io)).toBe(1);
    expect(io.err()).toMatch(/^wstape: .*a\.wstape\.json holds secrets: \d+ values in 4 entries would be redacted:\n/);
    expect(io.err()).toContain('c1 #0 text $.password');
    expect(readdirSync(dir)).toEqual(['a.wstape.json']);

    await runRedact({ ...base, file }, fakeIo());
    const clean = fakeIo();
    expect(await runRedact({ ...base, file: join(dir, 'a.redacted.wstape.json'), check: true }, clean)).toBe(0);
    expect(clean.err()).toMatch(/nothing to redact \(6 rules checked\)/);

    const plain = await writeArchive(join(dir, 'plain.wstape.json'), [connection('c1'), frame({ index: 0 }), end('c1')]);
    expect(await runRedact({ ...base, file: plain, check: true }, fakeIo())).toBe(0);
  });

  it('--check with --rule: the given rules count too', async () => {
    const file = await writeArchive(join(dir, 'a.wstape.json'), [connection('c1'), frame({ index: 0, text: 'acct-1234', size: 9 })]);
    expect(await runRedact({ ...base, file, check: true }, fakeIo())).toBe(0);
    expect(await runRedact({ ...base, file, check: true, rule: ['regex:acct-\\d+'] }, fakeIo())).toBe(1);
    expect(await runRedact({ ...base, file, check: true, noDefaults: true, rule: ['regex:zzz'] }, fakeIo())).toBe(0);
  });

  it('--dry-run reports and writes nothing', async () => {
    const file = await writeArchive(join(dir, 'a.wstape.json'), sampleArchive());
    const io = fakeIo();
    expect(await runRedact({ ...base, file, dryRun: true }, io)).toBe(0);
    expect(io.err()).toMatch(/^wstape: dry run: \d+ values in 4 entries would be redacted; nothing written:\n/);
    expect(readdirSync(dir)).toEqual(['a.wstape.json']);
  });

  it('never overwrites without --force, never writes over its input', async () => {
    const file = await writeArchive(join(dir, 'a.wstape.json'), sampleArchive());
    const out = join(dir, 'a.redacted.wstape.json');
    await writeFile(out, 'keep me');
    const refused = await runRedact({ ...base, file }, fakeIo()).catch((error: unknown) => error);
    expect(isCliError(refused) && refused.code).toBe('ERR_USAGE');
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(await runRedact({ ...base, file, force: true }, fakeIo())).toBe(0);
    expect(readFileSync(out, 'utf8')).not.toBe('keep me');
    const self = await runRedact({ ...base, file, out: file, force: true }, fakeIo()).catch((error: unknown) => error);
    expect(isCliError(self) && self.code).toBe('ERR_USAGE');
  });

  it('bad input: a missing file, not an archive, a bad rule, no rules at all (exit 2 codes); a damaged archive leaves no output', async () => {
    const codeOf = async (options: RedactOptions): Promise<unknown> => {
      const error = await runRedact(options, fakeIo()).catch((caught: unknown) => caught);
      return isCliError(error) ? [error.code, error.exitCode] : error;
    };
    expect(await codeOf({ ...base, file: join(dir, 'missing.wstape.json') })).toEqual(['ERR_FILE', 2]);
    await writeFile(join(dir, 'x.json'), '{"log":{"entries":[]}}');
    expect(await codeOf({ ...base, file: join(dir, 'x.json') })).toEqual(['ERR_ARCHIVE_FORMAT', 2]);
    const file = await writeArchive(join(dir, 'a.wstape.json'), sampleArchive());
    expect(await codeOf({ ...base, file, rule: ['nope:x'] })).toEqual(['ERR_USAGE', 2]);
    expect(await codeOf({ ...base, file, noDefaults: true })).toEqual(['ERR_USAGE', 2]);

    const lines = readFileSync(file, 'utf8').split('\n');
    lines[3] = ',{"kind":"frame","oops":true}';
    await writeFile(join(dir, 'damaged.wstape.json'), lines.join('\n'));
    expect(await codeOf({ ...base, file: join(dir, 'damaged.wstape.json') })).toEqual(['ERR_ARCHIVE_DAMAGED', 2]);
    expect(readdirSync(dir).sort()).toEqual(['a.wstape.json', 'damaged.wstape.json', 'x.json']);
  });

  it('an archive that was never closed: the redacted copy is closed, with the entries counted', async () => {
    const file = await writeArchive(join(dir, 'a.wstape.json'), sampleArchive(), { closed: false });
    const io = fakeIo();
    expect(await runRedact({ ...base, file }, io)).toBe(0);
    expect(io.err()).toMatch(/^wstape: warning: .* was not closed cleanly/);
    const reader = await openArchive(join(dir, 'a.redacted.wstape.json'));
    for await (const entry of reader.entries()) void entry;
    expect(reader.complete).toBe(true);
    expect(reader.trailer!.summary).toMatchObject({ connections: 1, exchanges: 1, frames: 2, bytes: 300 });
  });
});

describe('runRedact on recorded sessions', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function record(serverOptions: Parameters<typeof startWsServer>[0] = {}) {
    const server = await startWsServer(serverOptions);
    const recorder = await startRecorder({ target: server.url });
    cleanups.push(server.close, () => recorder.stop());
    return { server, recorder, ends: countEntries(recorder, 'end') };
  }

  /** Send `parts` as one fragmented text message; resolve with the echo. */
  function sendFragments(client: WebSocket, parts: string[], compress = false): Promise<string> {
    const echoed = new Promise<string>((resolve) => client.once('message', (data) => resolve(String(data))));
    parts.forEach((part, index) => client.send(part, { fin: index === parts.length - 1, compress }));
    return echoed;
  }

  async function redactAndRead(file: string): Promise<{ raw: string; entries: Entry[]; err: string }> {
    const io = fakeIo();
    expect(await runRedact({ ...base, file }, io)).toBe(0);
    const out = defaultRedactedPath(file);
    const entries = await readEntries(out);
    for (const entry of entries) entrySchema.parse(entry);
    return { raw: readFileSync(out, 'utf8'), entries, err: io.err() };
  }

  function messages(entries: Entry[], dir: 'out' | 'in'): string[] {
    const result: string[] = [];
    let current = '';
    for (const entry of entries) {
      if (entry.kind !== 'frame' || entry.dir !== dir || !['text', 'continuation'].includes(entry.type)) continue;
      current += entry.text ?? Buffer.from(entry.data ?? '', 'base64').toString('utf8');
      if (entry.fin) {
        result.push(current);
        current = '';
      }
    }
    return result;
  }

  it('a fragmented JSON message with a password, auth headers, a query token, a subprotocol token, a JWT and an HTTP exchange', async () => {
    const password = 'Tr0ub4dor&3-horse';
    const bearer = 'sk_live_51HxyzABCDEFGH';
    const k8sToken = 'a2V5LWZvci1rdWJlcm5ldGVzLXRlc3Q';
    const secrets = [password, 'Tr0ub4', 'dor&3', bearer, 'qs-secret-4242', 'cookie-secret-77', k8sToken, JWT, 'form-pass-555'];
    const { server, recorder, ends } = await record({ handleProtocols: () => 'chat.v1' });
    server.wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));

    const client = await openClient(
      `ws://127.0.0.1:${recorder.port}/chat?token=qs-secret-4242&room=general`,
      { headers: { Authorization: `Bearer ${bearer}`, Cookie: 'session=cookie-secret-77; theme=dark' } },
      [`base64url.bearer.authorization.k8s.io.${k8sToken}`, 'chat.v1'],
    );
    const message = `{"type":"login","user":"ada","password":"${password}","remember":true}`;
    const cut1 = message.indexOf(password) + 6;
    const cut2 = cut1 + 5;
    const echo = await sendFragments(client, [message.slice(0, cut1), message.slice(cut1, cut2), message.slice(cut2)]);
    expect(echo).toBe(message);
    const jwtEcho = new Promise((resolve) => client.once('message', resolve));
    client.send(`{"type":"auth","bearer":"${JWT}"}`);
    await jwtEcho;
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.close(1000, 'bye');
    await closed;
    await waitFor(() => ends() === 1, 5000, 'the end entry');

    // A plain HTTP exchange through the same recorder (the ws server answers 426).
    await new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: recorder.port,
          path: '/login?password=form-pass-555',
          method: 'POST',
          headers: { 'X-Api-Key': 'form-pass-555', 'Content-Type': 'application/json' },
        },
        (response) => {
          response.resume();
          response.on('end', resolve);
        },
      );
      request.on('error', reject);
      request.end('{"password":"form-pass-555"}');
    });
    await waitFor(() => recorder.recorder.totals.exchanges === 1, 5000, 'the http entry');
    await recorder.stop();

    const original = await readEntries(recorder.path);
    const originalRaw = readFileSync(recorder.path, 'utf8');
    for (const secret of secrets) expect(originalRaw, secret).toContain(secret);
    // The recording really is fragmented: three frames for the login message, each way one message.
    expect(original.filter((entry) => entry.kind === 'frame' && entry.dir === 'out' && entry.type === 'continuation')).toHaveLength(2);

    const { raw, entries, err } = await redactAndRead(recorder.path);
    for (const secret of secrets) expect(raw, secret).not.toContain(secret);
    expect(entries.map((entry) => [entry.kind, entry.kind === 'frame' ? `${entry.index}${entry.type}` : ''])).toEqual(
      original.map((entry) => [entry.kind, entry.kind === 'frame' ? `${entry.index}${entry.type}` : '']),
    );
    const redactedLogin = `{"type":"login","user":"ada","password":"[REDACTED]","remember":true}`;
    expect(messages(entries, 'out')[0]).toBe(redactedLogin);
    expect(messages(entries, 'in')[0]).toBe(redactedLogin);
    const outFrames = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.dir === 'out' && entry.index < 3);
    for (const f of outFrames) expect(f.size).toBe(Buffer.byteLength(f.text ?? ''));
    const conn = entries.find((entry) => entry.kind === 'connection')!;
    if (conn.kind !== 'connection') throw new Error('expected a connection');
    expect(conn.url).toMatch(/\?token=\[REDACTED\]&room=general$/);
    expect(conn.request.headers).toEqual(expect.arrayContaining([['Sec-WebSocket-Protocol', 'base64url.bearer.authorization.k8s.io.[REDACTED],chat.v1']]));
    expect(conn.subprotocol).toBe('chat.v1');
    expect(err).toContain('c1 #0-#2 text $.password');
    expect(err).toContain('c1 request header Authorization');

    expect(await runRedact({ ...base, file: recorder.path, check: true }, fakeIo())).toBe(1);
    expect(await runRedact({ ...base, file: defaultRedactedPath(recorder.path), check: true }, fakeIo())).toBe(0);
  });

  it('a permessage-deflate session: a secret cut across two compressed fragments is redacted', async () => {
    const secret = 'deflated-secret-value-31337';
    const { server, recorder, ends } = await record({ perMessageDeflate: { threshold: 0 } });
    server.wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
    const client = await openClient(`ws://127.0.0.1:${recorder.port}/z`, { perMessageDeflate: { threshold: 0 } });
    const message = JSON.stringify({ op: 'auth', api_key: secret, pad: 'the same words again '.repeat(20) });
    const cut = message.indexOf(secret) + 8;
    expect(await sendFragments(client, [message.slice(0, cut), message.slice(cut)], true)).toBe(message);
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.close(1000);
    await closed;
    await waitFor(() => ends() === 1, 5000, 'the end entry');
    await recorder.stop();

    const original = await readEntries(recorder.path);
    const compressed = original.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.compressed === true);
    expect(compressed.length).toBeGreaterThanOrEqual(3);
    expect(readFileSync(recorder.path, 'utf8')).toContain(secret);

    const { raw, entries } = await redactAndRead(recorder.path);
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain(secret.slice(0, 8));
    expect(raw).not.toContain(secret.slice(8));
    const redacted = entries.filter((entry): entry is FrameEntry => entry.kind === 'frame' && entry.compressed === true);
    expect(redacted.map((f) => [f.index, f.fin, f.wireSize])).toEqual(compressed.map((f) => [f.index, f.fin, f.wireSize]));
    // Each fragment holds its part (inflated per fragment), the secret cut between them: both
    // parts are redacted, and the sizes follow the redacted payloads.
    const parts = redacted.filter((f) => f.dir === 'out');
    expect(parts.map((f) => f.fin)).toEqual([false, true]);
    for (const f of parts) expect([f.fragmentInflated, f.size]).toEqual([true, Buffer.byteLength(f.text ?? '')]);
    expect(parts[0]!.text).toMatch(/^\{"op":"auth","api_key":"\[REDACTED/);
    const expected = JSON.stringify({ op: 'auth', api_key: '[REDACTED]', pad: 'the same words again '.repeat(20) });
    expect(messages(entries, 'out')).toEqual([expected]);
    expect(messages(entries, 'in')).toEqual([expected]);
    expect(existsSync(defaultRedactedPath(recorder.path))).toBe(true);
  });
});
