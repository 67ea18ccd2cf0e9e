/**
 * sleep (src/util/sleep.ts): the daemon's stop races the listeners' close against an unreferenced
 * sleep, which must not by itself keep the process alive; a referenced one must.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../src/util/sleep.js';

/** Timers that keep this process alive (an unreferenced one is not listed). */
const liveTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('sleep', () => {
  it('resolves once its time has passed, not before', async () => {
    let done = false;
    const slept = sleep(30).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    await slept;
    assert.equal(done, true);
  });

  it('keeps the process alive by default, and not with ref: false', async () => {
    const before = liveTimers();
    const unheld = sleep(5, { ref: false });
    assert.equal(liveTimers(), before);
    // Longer than the unreferenced one: it keeps this test's process alive until both have resolved.
    const held = sleep(50);
    assert.equal(liveTimers(), before + 1);
    await Promise.all([held, unheld]);
  });
});
