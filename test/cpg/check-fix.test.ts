/**
 * The fix the cpg group line of `--check` suggests follows the cause of the failure. The failures are
 * built here rather than caused: a corosync that answers the quorum line and then stops or refuses
 * within the same check cannot be timed reliably (test/cpg/check.test.ts covers the real corosync).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupFailureFix } from '../../src/backends/cpg/check.js';
import { CorosyncTimeoutError } from '../../src/backends/cpg/group.js';

const withCode = (code: string): Error => Object.assign(new Error(code), { code, csError: 0 });

test('a corosync that does not answer: check whether it is stopped or hung, not permissions', () => {
  const fix = groupFailureFix(new CorosyncTimeoutError('cpg_initialize', 5_000));
  assert.match(fix, /stopped or hung/);
  assert.doesNotMatch(fix, /root|uidgid/);
});

test('a corosync gone meanwhile: start it', () => {
  assert.match(groupFailureFix(withCode('CS_ERR_LIBRARY')), /start corosync/);
});

test('a refusal: run as root or allow the user in corosync.conf', () => {
  for (const code of ['CS_ERR_ACCESS', 'CS_ERR_SECURITY']) assert.match(groupFailureFix(withCode(code)), /as root.*uidgid/);
});
