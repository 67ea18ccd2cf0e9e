/**
 * Junk TCP connections at 1,000 a second (the fuzzer's mix, test/fuzz/flood.ts: random bytes and a
 * half-close, a partial request held open, nothing) from 8 other source addresses, sent by a process of
 * their own: a benchmark that sent them itself would delay its own legitimate probes behind its junk
 * (on a loaded 2-core machine, by seconds) and blame the daemon for it.
 *
 * `probeDuringFlood` runs the sender as a child and calls `probe` in a loop while it floods. Run
 * directly (`node --import tsx bench/junk-sender.ts PORT SECONDS`) this file is that child.
 */
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { FUZZ_SOURCES } from '../test/fuzz/daemon-bed.js';
import { junkConnection, type JunkCounts } from '../test/fuzz/flood.js';

const RATE = 1000;

async function sendJunk(port: number, seconds: number): Promise<JunkCounts> {
  const counts: JunkCounts = { attempts: 0, connections: 0, connectFailures: 0, connectTimeouts: 0 };
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  for (let sent = 0; sent < seconds * RATE;) {
    const due = Math.min(seconds * RATE, Math.floor(((performance.now() - t0) * RATE) / 1000));
    for (; sent < due; sent++) {
      const p = junkConnection(port, FUZZ_SOURCES[sent % FUZZ_SOURCES.length] as string, counts);
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
    await sleep(5);
  }
  await Promise.all(pending);
  return counts;
}

/** Floods `port` for `seconds` from a child process and calls `probe` one after another until the flood ends. */
export async function probeDuringFlood(port: number, seconds: number, probe: () => Promise<void>): Promise<JunkCounts> {
  const child = fork(new URL(import.meta.url).pathname, [String(port), String(seconds)], { execArgv: ['--import', 'tsx'] });
  let counts: JunkCounts | undefined;
  let flooding = false;
  child.on('message', (m: { started: true } | JunkCounts) => {
    if ('started' in m) flooding = true;
    else counts = m;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve())).finally(() => (flooding = false));
  // Until the child runs (tsx start-up), then until the flood has reached its rate.
  while (!flooding && counts === undefined) await Promise.race([sleep(20), exited]);
  await sleep(300);
  while (flooding) await probe();
  await exited;
  if (!counts) throw new Error('the junk sender exited without its counts');
  return counts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.send?.({ started: true });
  process.send?.(await sendJunk(Number(process.argv[2]), Number(process.argv[3])));
  process.disconnect?.();
}
