/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function, highest first.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Top `limit` functions by self time: [{ name, where, selfMs, percent }]. */
export function topSelfTime(file, limit = 15, root = process.cwd()) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const self = new Map();
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time before sample i; attribute the next delta to it (V8's convention
    // in DevTools is close enough for a ranking).
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    total += ms;
    self.set(id, (self.get(id) ?? 0) + ms);
  });
  const callerOf = (id) => {
    const chain = [];
    for (let at = parentOf.get(id); at !== undefined && chain.length < 6; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame?.url) continue;
      chain.push(frame.functionName || '(anonymous)');
      // Past Node's own stream and fs internals, the first caller of the project is what matters.
      if (!frame.url.startsWith('node:')) break;
    }
    return chain.join(' < ') || '?';
  };
  const byFunction = new Map();
  for (const [id, ms] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const name = frame.functionName || '(anonymous)';
    const url = frame.url ? path.relative(root, frame.url.replace(/^file:\/\//, '')) : '';
    let where = url ? `${url}:${frame.lineNumber + 1}` : '';
    // Native functions share names (a socket write and fs.writeSync both end in writeBuffer):
    // name the JavaScript function up the stack that called them.
    if (!url && !name.startsWith('(')) where = `called from ${callerOf(id)}`;
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, selfMs: 0 };
    entry.selfMs += ms;
    byFunction.set(key, entry);
  }
  return {
    totalMs: total,
    top: [...byFunction.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, limit)
      .map((entry) => ({ ...entry, percent: (100 * entry.selfMs) / total })),
  };
}

/** topSelfTime's table as text lines: self ms, self %, the function and where it is. */
export function formatTop(top) {
  return [
    '  self ms   self %  function',
    ...top.map((entry) => `${entry.selfMs.toFixed(0).padStart(9)} ${entry.percent.toFixed(1).padStart(7)}%  ${entry.name}  ${entry.where}`),
  ].join('\n');
}
