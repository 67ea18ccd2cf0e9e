/**
 * mapLimited (src/util/map-limited.ts), which the libvirt backend's host list and the serial listener's
 * scan use to keep only a few libvirt calls under way: the bound, the order of the results, and the
 * stop after a failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimited } from '../../src/util/map-limited.js';

describe('mapLimited', () => {
  it('never has more than the limit under way and answers in the order of the items', async () => {
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 40 }, (_, i) => i);
    const results = await mapLimited(items, 4, async (i) => {
      most = Math.max(most, ++running);
      await sleep((i * 7) % 5); // finish out of order
      running--;
      return i * 2;
    });
    assert.equal(most, 4);
    assert.deepEqual(
      results,
      items.map((i) => i * 2),
    );
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapLimited([0, 1, 2, 3, 4, 5, 6, 7], 2, async (i) => {
        started.push(i);
        await sleep(1);
        if (i === 1) throw new Error('item 1 failed');
        return i;
      }),
      /item 1 failed/,
    );
    assert.ok(!started.includes(4), `started ${started.join(', ')}`);
  });

  it('answers an empty list without calling', async () => {
    assert.deepEqual(await mapLimited([], 8, () => Promise.reject(new Error('called'))), []);
  });
});
