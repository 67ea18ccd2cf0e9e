import assert from 'node:assert/strict';
import { it } from 'node:test';
import { KeyedMutex } from '../../src/util/keyed-mutex.js';

/**
 * Requests for one domain run one after another; other domains are not held up
 * (docs/protocol.md#request-execution; the C daemon serves one request at a time: docs/compatibility.md,
 * row 'concurrency').
 */
it('serialises tasks per key and runs different keys concurrently', async () => {
  const mutex = new KeyedMutex();
  const events: string[] = [];
  let releaseFirst!: () => void;
  const first = mutex.run('vm-a', async () => {
    events.push('a1 start');
    await new Promise<void>((r) => (releaseFirst = r));
    events.push('a1 end');
  });
  const second = mutex.run('vm-a', async () => {
    events.push('a2 start');
  });
  const other = mutex.run('vm-b', async () => {
    events.push('b start');
  });
  await other;
  assert.deepEqual(events, ['a1 start', 'b start'], 'vm-b ran while vm-a was busy; the second vm-a task waited');
  releaseFirst();
  await Promise.all([first, second]);
  assert.deepEqual(events, ['a1 start', 'b start', 'a1 end', 'a2 start']);
});

it('keeps going after a task fails', async () => {
  const mutex = new KeyedMutex();
  await assert.rejects(
    mutex.run('k', async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await mutex.run('k', async () => 42), 42);
});
