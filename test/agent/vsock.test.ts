/**
 * fence_virt -S (vsock mode): only what happens before a connect can be tested on these machines.
 * Argument and stdin validation of the CID is compared with the C agent; the connected exchange is
 * the TCP exchange (tested in tcp.test.ts) over another stream, and is skipped here.
 */
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assertAgentsAgree, C_AGENT } from './agents.js';

const skip = existsSync(C_AGENT.fence_virt) ? false : `${C_AGENT.fence_virt} is not installed`;

describe('fence_virt vsock CID validation: same outcome as the C agent', { skip }, () => {
  it('-S: bare (CID 2), attached values in range, out of range, not a number', async () => {
    for (const cid of ['-S', '-S2', '-S0x3', '-S4294967294', '-S1', '-S0', '-S4294967295', '-S0x100000000', '-S-2', '-Sx', '-S3 '].map((s) => [s])) {
      await assertAgentsAgree('fence_virt', ['-d', ...cid, '-o', 'validate-all', '-H', 'vm']);
    }
  });

  it('vsock= on stdin, with and without a value, and wins over ipaddr', async () => {
    for (const line of ['vsock=3', 'vsock=', 'vsock', 'vsock=1', 'vsock=3\nipaddr=127.0.0.1']) {
      await assertAgentsAgree('fence_virt', [], { input: `debug=1\n${line}\naction=validate-all\nport=vm\n` });
    }
  });

  it(
    'a fencing call over AF_VSOCK',
    { skip: 'never connect on AF_VSOCK here: this kernel has no vsock loopback, so a connect to any CID reaches the real hypervisor host' },
    () => undefined,
  );
});
