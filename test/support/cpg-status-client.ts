/**
 * Status round trips measured without process start-up, for bench/cpg.ts: run inside a cluster host
 * with one JSON argument {rounds, key, targets: [{label, address, port, vm, expected}]}, it runs our
 * fence_virt in this process (the same code as the agent binary) against each target in turn, round
 * after round, so machine load falls on all targets alike. Every answer must be `expected`; prints
 * {label: [ms, ...]} as JSON, or exits 1 naming the first wrong answer.
 */
import { runAgent } from '../../src/agent/run-agent.js';
import { FENCE_VIRT } from '../../src/agent/program.js';

interface Target {
  label: string;
  address: string;
  port: string;
  vm: string;
  expected: number;
}

const { rounds, key, targets } = JSON.parse(process.argv[2] ?? '{}') as { rounds: number; key: string; targets: Target[] };
const silent = { stdout: () => undefined, stderr: () => undefined };
const times: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.label, []]));
for (let round = 0; round < rounds; round++) {
  for (const t of targets) {
    const argv = ['-T', t.address, '-p', t.port, '-k', key, '-t', '30', '-o', 'status', '-H', t.vm];
    const started = performance.now();
    const code = await runAgent({ program: FENCE_VIRT, argv0: 'fence_virt', argv, readStdin: async () => Buffer.alloc(0), out: silent });
    const ms = performance.now() - started;
    if (code !== t.expected) {
      process.stderr.write(`${t.label}: status ${t.vm} answered ${code}, expected ${t.expected}\n`);
      process.exit(1);
    }
    times[t.label]?.push(ms);
  }
}
process.stdout.write(`${JSON.stringify(times)}\n`);
