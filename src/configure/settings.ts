/**
 * `fence_virtd -c --set PATH=VALUE ...`: the configuration changed without questions, for scripts and
 * configuration management, where piping answers to the dialog would depend on which prompts appear.
 * PATH is the key's place in the file (`listeners/multicast/interface`); the value `none` removes the
 * key, as in the dialog. The file is written only when fence_virtd would start with the result; the
 * previous file is kept as FILE.bak.
 */
import type { Writable } from 'node:stream';
import {
  backUpConfigFile,
  ConfigError,
  readConfigFile,
  removePath,
  setValue,
  writeConfigFile,
  type ConfigDocument,
} from '../config/index.js';
import { toDaemonConfig } from '../daemon-config/index.js';
import { collectWarnings } from '../util/log.js';

/** `a/b/key=value` split into the edit path (`a/b/@key`) and the value; undefined when malformed. */
function parseSetting(setting: string): { path: string; value: string } | undefined {
  const match = /^((?:[^/=]+\/)+)([^/=]+)=(.*)$/.exec(setting);
  return match ? { path: `${match[1]}@${match[2]}`, value: match[3] as string } : undefined;
}

function loadOrNew(file: string, say: (line: string) => void): ConfigDocument {
  try {
    return readConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError) || (err.cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw err;
    say(`${file} does not exist yet; starting a new one.`);
    return { file, items: [] };
  }
}

/** Applies the settings to `file`; resolves with 0 when it was written, 1 when it was left unchanged. */
export async function applySettings(file: string, settings: readonly string[], output: Writable): Promise<number> {
  const say = (line: string): void => void output.write(`${line}\n`);
  try {
    const document = loadOrNew(file, say);
    for (const setting of settings) {
      const parsed = parseSetting(setting);
      if (!parsed) throw new ConfigError(file, `--set ${setting}: expected BLOCK/.../KEY=VALUE, e.g. listeners/multicast/interface=virbr0`);
      if (parsed.value === 'none') removePath(document, parsed.path);
      else setValue(document, parsed.path, parsed.value);
    }
    const { logger, warnings } = collectWarnings();
    toDaemonConfig(document, logger);
    for (const warning of warnings) say(`Warning: ${warning}`);
    const backup = await backUpConfigFile(file);
    await writeConfigFile(file, document);
    say(`Wrote ${file}${backup ? ` (the previous file is ${backup})` : ''}. Check it with: fence_virtd --check -f ${file}`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say(`fence_virtd -c: ${err.message}; ${file} was not changed.`);
    return 1;
  }
}
