/**
 * Seeded fuzzing of every listener (see campaign.ts for what is sent and checked): 10,000 inputs each
 * against the built daemon (multicast, TCP, serial) and the in-process vsock listener. A failure names
 * the inputs; `npm run fuzz -- --listener L --seed 24301 --count 10000 --log FILE` replays the run and
 * `--dump N` prints input N. Ports 23000-23099 belong to this folder.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { FuzzSession, violations } from './campaign.js';
import { LISTENERS } from './inputs.js';

const SEED = 24301;
const COUNT = 10_000;
const session = new FuzzSession({ tcp: 23001, multicast: 23002, trap: 23003, probe: 23004, vsockBase: 23010 });
after(() => session.stop());

describe(`fuzzing every listener (${COUNT} inputs each, seed ${SEED})`, () => {
  for (const listener of LISTENERS) {
    it(`${listener}: the daemon stays up, answers legitimate requests and fences nothing`, async () => {
      const r = await session.run(listener, SEED, COUNT);
      assert.equal(r.inputs, COUNT);
      assert.deepEqual(violations(r), [], `replay: npm run fuzz -- --listener ${listener} --seed ${SEED} --count ${COUNT} --log FILE`);
      // The run exercised what it claims: legitimate traffic got through alongside the fuzz.
      assert.ok(r.probes.sent - r.probes.failures.count >= 2, 'legitimate probes were answered');
      if (listener === 'tcp' || listener === 'vsock') assert.ok(r.checkedAnswers > 50, `legit status inputs checked: ${r.checkedAnswers}`);
      if (listener === 'multicast') assert.ok((r.connectBacks?.answered ?? 0) > 50, 'legit datagrams were called back and served');
      if (listener === 'serial') assert.ok((r.serialAnswers ?? 0) > 1000, 'fuzzed frames reached the dispatcher');
    });
  }
});
