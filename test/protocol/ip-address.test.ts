import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ipv4FromText, ipv4ToText, ipv6FromText, ipv6ToText } from '../../src/protocol/index.js';

it('formats IPv6 like inet_ntop and parses it back', () => {
  const cases = ['fd00::b', '::1', '::', 'ff05::3:1', '2001:db8:0:1:1:1:1:1', '2001:db8::1:0:0:1', '::ffff:192.168.1.5', 'fe80::1:2:3:4'];
  for (const text of cases) {
    const bytes = ipv6FromText(text);
    assert.ok(bytes, text);
    assert.equal(ipv6ToText(bytes), text);
  }
  assert.equal(ipv6ToText(ipv6FromText('FD00:0:0:0:0:0:0:B') as Uint8Array), 'fd00::b');
  for (const bad of ['1::2::3', ':::', '12345::', 'g::1', '1:2:3:4:5:6:7', '1.2.3.4']) assert.equal(ipv6FromText(bad), undefined, bad);
});

it('formats and parses IPv4', () => {
  assert.equal(ipv4ToText(ipv4FromText('192.168.1.5') as Uint8Array), '192.168.1.5');
  for (const bad of ['256.1.1.1', '1.2.3', 'a.b.c.d', '1.2.3.4.5']) assert.equal(ipv4FromText(bad), undefined, bad);
});
