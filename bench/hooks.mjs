/**
 * The hooks rows: ws:// echo traffic through `wstape record` with no hook, with a pass-through
 * script hook (bench/hooks/passthrough.mjs) and with one that rewrites a JSON field
 * (bench/hooks/rewrite.mjs), next to mitmdump in reverse mode, recording its flows (-w), running
 * the equivalent `websocket_message` addons (mitm_passthrough.py, mitm_rewrite.py), and next to
 * tcp-pipe, the floor.
 *
 * The suite plugs into run.mjs's interleaved runs (runOnce). Before anything is measured, every
 * proxy of a run gets one /peek connection: the echo server answers with what it received, so the
 * bench sees that a rewriting proxy changed the message on the way in (`"type":"TICK"` at the
 * server) and its answer on the way back, and that the others changed nothing. After the run,
 * every wstape archive is counted (run.mjs) and searched for `"action":"modified"` (every data
 * frame of a rewriting recorder, none elsewhere), and every mitmdump flow file is counted
 * (countFlowFile): one flow per connection, every message each way, rewritten where the addon
 * rewrites.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { countInFile } from './archive-check.mjs';
import { close, connect } from './client.mjs';
import { ROOT, startMitmdump, startServer, startWstape, waitIdle } from './processes.mjs';

const HOOKS = path.join(ROOT, 'bench', 'hooks');

/** The rows, in table order: what runs each, and whether it rewrites the messages. */
export const HOOK_ROWS = {
  'tcp-pipe': { kind: 'pipe' },
  wstape: { kind: 'wstape' },
  'wstape-pass': { kind: 'wstape', script: 'passthrough.mjs' },
  'wstape-rewrite': { kind: 'wstape', script: 'rewrite.mjs', rewrites: true },
  'mitmdump-pass': { kind: 'mitmdump', script: 'mitm_passthrough.py' },
  'mitmdump-rewrite': { kind: 'mitmdump', script: 'mitm_rewrite.py', rewrites: true },
};

/** The message of the /peek check; the echo server answers {"type":"seen","data":<it>}. */
const PEEK = '{"type":"tick","seq":1,"data":"peek"}';
const MODIFIED = '"action":"modified","by":"script"';
const ANY_ACTION = '"action":"';

/** mitmdump on PATH: { command, version } or null. */
export function findMitmdump() {
  const command = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'mitmdump'))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (!command) return null;
  let version = null;
  try {
    version = execFileSync(command, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 })
      .split('\n')[0]
      .trim();
  } catch {
    return null;
  }
  return { command, version };
}

/** One /peek round trip through `port`: did the proxy rewrite, as `rewrites` says it should? */
async function peek(config, port, rewrites) {
  const ws = await connect(`ws://127.0.0.1:${port}/peek`);
  let reply;
  try {
    reply = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer after 10 s')), 10_000);
      ws.once('message', (data) => {
        clearTimeout(timer);
        resolve(data.toString('utf8'));
      });
      ws.send(PEEK);
    });
  } finally {
    await close(ws);
  }
  const problems = [];
  let answer = null;
  let seen = null;
  try {
    answer = JSON.parse(reply);
    seen = JSON.parse(answer.data);
  } catch {
    problems.push(`${config} /peek: the answer is not the echo server's JSON: ${reply.slice(0, 120)}`);
  }
  if (seen) {
    // rewrite.mjs and mitm_rewrite.py turn "tick" into "TICK" and anything else into "tick".
    const want = rewrites ? { server: 'TICK', client: 'tick' } : { server: 'tick', client: 'seen' };
    if (seen.type !== want.server) problems.push(`${config} /peek: the server received "type":"${seen.type}", expected "${want.server}"`);
    if (answer.type !== want.client) problems.push(`${config} /peek: the client got "type":"${answer.type}", expected "${want.client}"`);
  }
  return { reply, problems };
}

/**
 * Count what a mitmdump flow file (-w) holds, from its bytes: mitmproxy's own reader
 * (mitmproxy.io.FlowReader) needs minutes for the 150 MiB of one quick run, so the bench reads the
 * tnetstring itself. A flow starts `4:type;4:http;`; a WebSocket message is `[1:1#` (text),
 * `4:true!` (from the client) or `5:false!`, then `<length>:<content>,`, and mitmproxy keeps the
 * content as it was forwarded. Counts the flows, and the messages each way whose content starts
 * `{"type":"tick"` or `{"type":"TICK"` (every message of the bench does, but for the /peek answer
 * without a rewrite: `{"type":"seen"`).
 */
export function countFlowFile(file) {
  const bytes = readFileSync(file);
  const count = (needle) => {
    const pattern = Buffer.from(needle, 'latin1');
    let n = 0;
    for (let at = bytes.indexOf(pattern); at !== -1; at = bytes.indexOf(pattern, at + pattern.length)) n++;
    return n;
  };
  const counts = { flows: count('4:type;4:http;'), out: { tick: 0, TICK: 0, seen: 0 }, in: { tick: 0, TICK: 0, seen: 0 } };
  const content = Buffer.from(':{"type":"', 'latin1');
  for (let at = bytes.indexOf(content); at !== -1; at = bytes.indexOf(content, at + content.length)) {
    // Back over the length's digits to the from-client flag.
    let i = at - 1;
    while (i >= 0 && bytes[i] >= 0x30 && bytes[i] <= 0x39) i--;
    if (i === at - 1) continue;
    const flag = bytes.toString('latin1', Math.max(0, i - 7), i + 1);
    const dir = flag.endsWith('4:true!') ? 'out' : flag.endsWith('5:false!') ? 'in' : null;
    const type = bytes.toString('latin1', at + content.length, at + content.length + 5);
    const kind = { 'tick"': 'tick', 'TICK"': 'TICK', 'seen"': 'seen' }[type];
    if (dir && kind) counts[dir][kind]++;
  }
  return counts;
}

/**
 * Check a mitmdump flow file against what the client sent on each connection of that mitmdump
 * (`expected`: [{ messages }], in order; the first is the /peek one). Returns { bytes, flows,
 * messages, problems }.
 */
function checkFlows(config, file, expected, rewrites) {
  if (!existsSync(file)) return { problems: [`${config}: no flow file ${file}`] };
  const bytes = statSync(file).size;
  if (bytes > 2 * 1024 ** 3) return { bytes, problems: [], skipped: `${(bytes / 1024 ** 3).toFixed(1)} GiB, too large to read back` };
  const counts = countFlowFile(file);
  const messages = expected.reduce((n, want) => n + want.messages, 0);
  // Rewritten: every message out reaches the server as "TICK" and every answer the client as
  // "tick" (the /peek answer too). Unchanged: "tick" both ways, but the /peek answer, "seen".
  const want = rewrites
    ? { out: { tick: 0, TICK: messages, seen: 0 }, in: { tick: messages, TICK: 0, seen: 0 } }
    : { out: { tick: messages, TICK: 0, seen: 0 }, in: { tick: messages - 1, TICK: 0, seen: 1 } };
  const problems = [];
  if (counts.flows !== expected.length) problems.push(`${config}: ${counts.flows} flows in the flow file, expected ${expected.length}`);
  for (const dir of ['out', 'in']) {
    if (JSON.stringify(counts[dir]) !== JSON.stringify(want[dir]))
      problems.push(`${config} flow file, messages ${dir}: ${JSON.stringify(counts[dir])}, expected ${JSON.stringify(want[dir])}`);
  }
  const total = (dir) => counts[dir].tick + counts[dir].TICK + counts[dir].seen;
  return { bytes, flows: counts.flows, messages: total('out') + total('in'), counts, problems };
}

/**
 * The suite for run.mjs's runOnce: { name, configs, type, start(rep) }. start() starts every
 * proxy of the run fresh (wstape recorders with their own archives, mitmdumps with their own flow
 * files), makes the /peek check through each, and returns the session runOnce drives.
 */
export function hooksSuite({ echoPort, archiveDir, configs, maxPayload, mitm, keep, log, clientOptions = {} }) {
  const confdir = path.join(archiveDir, 'mitmproxy-conf');
  return {
    name: 'hooks',
    configs,
    type: 'text',
    async start(rep) {
      const proxies = {};
      const recorders = {};
      const flowFiles = {};
      const file = (config, ext) => path.join(archiveDir, `hooks-run-${rep}-${config}.${ext}`);
      const starting = [];
      for (const config of configs) {
        const row = HOOK_ROWS[config];
        if (row.kind === 'pipe') starting.push(startServer('tcp-pipe', echoPort).then((p) => (proxies[config] = p)));
        else if (row.kind === 'wstape') {
          const archive = file(config, 'wstape.json');
          const extraArgs = row.script ? ['--script', path.join(HOOKS, row.script)] : [];
          starting.push(
            startWstape({ targetPort: echoPort, out: archive, maxPayload, extraArgs }).then((recorder) => {
              proxies[config] = recorder;
              recorders[config] = { recorder, archive, check: (want) => checkActions(config, archive, want, row.rewrites) };
            }),
          );
        }
      }
      await Promise.all(starting);
      // mitmdump makes its CA in confdir on its first start: one alone first, then the others.
      const mitms = configs.filter((config) => HOOK_ROWS[config].kind === 'mitmdump');
      for (const [i, config] of mitms.entries()) {
        const start = () =>
          startMitmdump({
            targetPort: echoPort,
            out: file(config, 'flows'),
            script: path.join(HOOKS, HOOK_ROWS[config].script),
            confdir,
            command: mitm.command,
          }).then((p) => {
            proxies[config] = p;
            flowFiles[config] = file(config, 'flows');
          });
        if (i === 0 && !existsSync(path.join(confdir, 'mitmproxy-ca.pem'))) await start();
        else starting.push(start());
      }
      await Promise.all(starting);

      const problems = [];
      const expectedBefore = {};
      for (const config of configs) {
        const { problems: found } = await peek(config, proxies[config].port, HOOK_ROWS[config].rewrites === true);
        problems.push(...found);
        expectedBefore[config] = [{ messages: 1, sizeOut: Buffer.byteLength(PEEK), truncatedOut: 0, truncatedIn: 0 }];
        await waitIdle(proxies[config].pid);
      }
      for (const problem of problems) log(`    ${problem}`);
      if (problems.length === 0 && rep === 0) log(`  /peek: the rewriting rows rewrote both ways, the others changed nothing`);

      return {
        recorders,
        expectedBefore,
        // With --deflate, the client offers permessage-deflate as in the relay rows.
        open: (config) => connect(`ws://127.0.0.1:${proxies[config].port}/bench`, 10_000, clientOptions),
        pidOf: (config) => proxies[config].pid,
        /** Let deferred work (mitmdump writes a flow when its connection ends) finish between rows. */
        settle: (config) => waitIdle(proxies[config].pid),
        async stopPeers() {
          for (const [config, proxy] of Object.entries(proxies)) if (!recorders[config]) await proxy.stop();
        },
        /** After stopPeers: the /peek problems and the flow files read back. */
        async verify(expected) {
          const all = [...problems];
          const notes = [];
          const flows = {};
          for (const [config, flowFile] of Object.entries(flowFiles)) {
            const result = checkFlows(config, flowFile, expected[config], HOOK_ROWS[config].rewrites === true);
            flows[config] = result;
            if (result.skipped) notes.push(`${config}: flow file (${result.bytes} B) not read back: ${result.skipped}`);
            else
              log(
                `  ${config} flow file: ${result.flows} flows, ${result.messages.toLocaleString('en-US')} messages in ${(result.bytes / 1024 ** 2).toFixed(0)} MiB: ${result.problems.length === 0 ? 'ok' : 'MISMATCH'}`,
              );
            all.push(...(result.problems ?? []));
            if (!keep) rmSync(flowFile, { force: true });
          }
          for (const problem of all.filter((p) => !problems.includes(p))) log(`    ${problem}`);
          for (const note of notes) log(`  note: ${note}`);
          return { ok: all.length === 0, problems: all, notes, flows };
        },
      };
    },
  };
}

/** A wstape archive's hook actions: every data frame modified by the rewriting script, none elsewhere. */
async function checkActions(config, archive, expected, rewrites) {
  const counts = await countInFile(archive, [ANY_ACTION, MODIFIED]);
  const dataFrames = expected.reduce((n, want) => n + 2 * want.messages, 0);
  const want = rewrites ? dataFrames : 0;
  const problems = [];
  if (counts[MODIFIED] !== want) problems.push(`${config}: ${counts[MODIFIED]} frames "modified" by the script, expected ${want}`);
  if (counts[ANY_ACTION] !== counts[MODIFIED]) problems.push(`${config}: ${counts[ANY_ACTION] - counts[MODIFIED]} frames with another action`);
  return { problems, modified: counts[MODIFIED] };
}
