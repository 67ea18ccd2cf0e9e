/**
 * The key for signing and challenge-response, read only when hash or auth needs it. Like the C agents,
 * an unreadable key file means carrying on without authentication (the daemon then refuses, unless it
 * accepts unsigned requests), with their message on stdout and the reason on stderr.
 */
import { AuthKey, loadKeyFile } from '../auth/index.js';
import { Hash, type HashType } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import type { AgentArgs } from './args.js';
import type { AgentOutput } from './output.js';

export interface AgentKey {
  key: AuthKey;
  hash: HashType;
  auth: HashType;
}

export function loadAgentKey(args: AgentArgs, out: AgentOutput, log: Logger): AgentKey {
  const none: AgentKey = { key: new AuthKey(Buffer.alloc(0)), hash: Hash.NONE, auth: Hash.NONE };
  if (args.hash === Hash.NONE && args.auth === Hash.NONE) return none;
  try {
    const { key, warnings } = loadKeyFile(args.keyFile, { allowEmpty: true });
    for (const w of warnings) log.debug(w);
    return { key, hash: args.hash, auth: args.auth };
  } catch (err) {
    out.stdout(`Could not read ${args.keyFile}; trying without authentication\n`);
    log.error((err as Error).message);
    return none;
  }
}
