import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestHistory, type HistoryClaim } from '../../src/core/request-history.js';
import { Request } from '../../src/protocol/index.js';

function history(now: { t: number }, maxPerRequester = 3, maxEntries = 100) {
  return new RequestHistory({ windowMs: 10_000, maxPerRequester, maxEntries, now: () => now.t });
}
const off = (seqno: number, domain = 'vm1') => ({ request: Request.OFF, seqno, domain });

function claimed(c: HistoryClaim | string): HistoryClaim {
  assert.equal(typeof c, 'object', `expected a claim, got ${String(c)}`);
  return c as HistoryClaim;
}

describe('request history', () => {
  it('refuses a copy while the first is in flight and for the window after it ran, in any case of the name', () => {
    const now = { t: 0 };
    const h = history(now);
    const first = claimed(h.claim(off(1), 'a'));
    assert.equal(h.claim(off(1, 'VM1'), 'b'), 'duplicate', 'in flight');
    first.finish(true);
    now.t = 9_999;
    assert.equal(h.claim(off(1), 'a'), 'duplicate', 'within the window');
    now.t = 10_000;
    claimed(h.claim(off(1), 'a')).finish(false);
  });

  it('forgets a claim that was not executed', () => {
    const h = history({ t: 0 });
    claimed(h.claim(off(1), 'a')).finish(false);
    claimed(h.claim(off(1), 'a'));
  });

  it('evicts only the flooding requester’s own oldest entries', () => {
    const h = history({ t: 0 });
    claimed(h.claim(off(100), 'victim')).finish(true);
    for (let s = 1; s <= 50; s++) claimed(h.claim(off(s), 'flooder')).finish(true);
    assert.equal(h.claim(off(100), 'victim'), 'duplicate', "the other requester's entry stays");
    assert.equal(h.claim(off(50), 'flooder'), 'duplicate', 'its newest stays');
    assert.equal(h.size, 4, 'victim 1 + flooder 3');
    // Its oldest were evicted; claiming again makes room by evicting its next oldest, still not victim's.
    claimed(h.claim(off(1), 'flooder')).finish(false);
    assert.equal(h.size, 3);
    assert.equal(h.claim(off(100), 'victim'), 'duplicate');
  });

  it('refuses a requester whose every slot is in flight, and refuses all when the daemon-wide bound is reached', () => {
    const h = history({ t: 0 }, 2, 3);
    claimed(h.claim(off(1), 'a'));
    claimed(h.claim(off(2), 'a'));
    assert.equal(h.claim(off(3), 'a'), 'requester-full');
    claimed(h.claim(off(4), 'b'));
    assert.equal(h.claim(off(5), 'c'), 'full');
  });

  it('finish is idempotent', () => {
    const h = history({ t: 0 }, 1);
    const c = claimed(h.claim(off(1), 'a'));
    c.finish(true);
    c.finish(true);
    assert.equal(h.size, 1);
  });
});
