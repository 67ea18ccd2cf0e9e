/**
 * fence_virt -S (vsock mode): what happens before a connect, compared with the C agent (argument and
 * stdin validation of the CID). A vsock connect on these machines would reach the real hypervisor
 * host, so the connected exchange runs inside a guest with only the vsock loopback transport, against
 * both daemons (test/guests/vsock.test.ts).
 */
import { describe, it } from 'node:test';
import { needsTools } from '../support/requirement.js';
import { assertAgentsAgree, C_AGENT } from './agents.js';

const skip = needsTools(C_AGENT.fence_virt);

describe('fence_virt vsock CID validation: same outcome as the C agent', { skip }, () => {
  it('-S: bare (CID 2), attached values in range, out of range, not a number', async () => {
    for (const cid of ['-S', '-S2', '-S0x3', '-S4294967294', '-S1', '-S0', '-S4294967295', '-S0x100000000', '-S-2', '-Sx', '-S3 '].map(
      (s) => [s],
    )) {
      await assertAgentsAgree('fence_virt', ['-d', ...cid, '-o', 'validate-all', '-H', 'vm']);
    }
  });

  it('vsock= on stdin, with and without a value, and wins over ipaddr', async () => {
    for (const line of ['vsock=3', 'vsock=', 'vsock', 'vsock=1', 'vsock=3\nipaddr=127.0.0.1']) {
      await assertAgentsAgree('fence_virt', [], { input: `debug=1\n${line}\naction=validate-all\nport=vm\n` });
    }
  });
});
