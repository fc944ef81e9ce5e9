/**
 * Other work on the machine: the bench reads /proc/stat and its own processes' CPU time, waits for
 * quiet before each measured step, and reports how much CPU other work used during it, so that a
 * step disturbed by other sessions (tsc, vitest...) can be left out or at least flagged.
 */
import { readFileSync } from 'node:fs';
import { livePids } from './processes.mjs';

/** CPU seconds of a process (utime + stime; with `children`, plus its reaped children's). */
function processCpu(pid, children) {
  // /proc/<pid>/stat fields 14-17: utime, stime, cutime, cstime; split after the ") " of the name.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (children ? [11, 12, 13, 14] : [11, 12]).reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
}

/** CPU seconds used so far by the whole machine (busy, steal) and by this bench with its children. */
export function cpuTimes() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map((ticks) => ticks / 100);
    // Children count in cutime once reaped; live ones are read on their own.
    let own = processCpu('self', true);
    for (const pid of livePids) {
      try {
        own += processCpu(pid, false);
      } catch {
        // exited and reaped since: its time is in cutime now
      }
    }
    return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal, own };
  } catch {
    return null;
  }
}

/** What else ran on the machine between two cpuTimes() readings. */
export function machineLoad(before, after) {
  if (!before || !after) return null;
  const d = (k) => after[k] - before[k];
  const total = d('busy') + d('idle') + d('steal');
  if (!(total > 0)) return null;
  return {
    seconds: Number(total.toFixed(1)),
    benchCpuSeconds: Number(d('own').toFixed(1)),
    otherCpuSeconds: Number(Math.max(0, d('busy') - d('own')).toFixed(1)),
    stealSeconds: Number(d('steal').toFixed(1)),
    otherPercent: Number(((100 * Math.max(0, d('busy') - d('own'))) / total).toFixed(0)),
  };
}

/** Busy share of the machine over `ms` (other sessions, tests...). */
export async function backgroundLoad(ms = 1000) {
  const before = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return machineLoad(before, cpuTimes());
}

/**
 * Wait (at most `waitSeconds`) until other work uses under 15% of the machine's CPU over one
 * second. Returns the last reading; the bench goes on either way and reports it.
 */
export async function waitForQuiet(what, waitSeconds, log) {
  const deadline = Date.now() + waitSeconds * 1000;
  let load = await backgroundLoad(500);
  while (load && load.otherPercent >= 15 && Date.now() < deadline) {
    log(`  waiting for a quiet machine before ${what}: other work uses ${load.otherPercent}% of CPU`);
    load = await backgroundLoad(1000);
  }
  return load;
}

/**
 * Run `step` after waiting for quiet, and measure other work during it. Resolves with
 * { value, load, noisy } (noisy: other work used `noisyPercent` or more of the CPU).
 */
export async function measured(what, { waitSeconds, noisyPercent, log }, step) {
  const quietBefore = await waitForQuiet(what, waitSeconds, log);
  const before = cpuTimes();
  const value = await step();
  const load = machineLoad(before, cpuTimes());
  if (load) load.justBeforePercent = quietBefore?.otherPercent ?? null;
  const noisy = load !== null && load.otherPercent >= noisyPercent;
  return { value, load, noisy };
}
