/**
 * The built daemon under a bounded flood (1,000 junk TCP connections and 1,000 junk multicast
 * datagrams per second for 5 s, loopback in the test namespace) still answers legitimate status
 * requests, correctly, over both. Latencies are not asserted: `npm run fuzz -- --flood --report`
 * writes them to bench/results/flood.md.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { DaemonBed } from './daemon-bed.js';
import { runFlood } from './flood.js';

const SECONDS = 5;
let bed: DaemonBed;
before(async () => {
  bed = await DaemonBed.start({ tcp: 23051, multicast: 23052, trap: 23053, probe: 23054 });
});
after(() => bed?.stop());

it('answers legitimate status requests correctly during a junk flood and fences nothing', async () => {
  const r = await runFlood(bed, { seconds: SECONDS });
  assert.deepEqual(r.failures, []);
  // The whole flood was sent (bounded: rate x time) ...
  assert.equal(r.junk.attempts, SECONDS * r.connectionsPerSecond);
  assert.equal(r.junk.datagrams, SECONDS * r.datagramsPerSecond);
  // ... and legitimate requests were answered during it, over both listeners.
  assert.ok(r.flooded.tcp.length >= 3, `TCP status answered during the flood: ${r.flooded.tcp.length}`);
  assert.ok(r.flooded.multicast.length >= 3, `multicast status answered during the flood: ${r.flooded.multicast.length}`);
});
