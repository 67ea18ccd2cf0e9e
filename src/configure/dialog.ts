/**
 * `fence_virtd -c`: the interactive configuration (docs/protocol.md#configuration-dialog) with its
 * prompts, defaults and final confirmation, so answers piped for the C dialog still work for one
 * listener. Differences: the serial URI is stored, the TCP address defaults to 127.0.0.1, interfaces are
 * checked, the file keeps its order and comments (edits happen in place) and a .bak copy, a second
 * listener's key file defaults to the one just given, and vsock and several listeners can be
 * configured — the `Listener module` prompt takes a list of names, each asked about in turn.
 */
import type { Readable, Writable } from 'node:stream';
import type { BackendModule } from '../backends/module.js';
import { BACKEND_MODULES, findBackendModule, type BackendConfig } from '../backends/registry.js';
import {
  backUpConfigFile,
  ConfigError,
  childBlocks,
  findBlock,
  formatConfig,
  getValue,
  readConfigFile,
  removePath,
  setValue,
  writeConfigFile,
  type ConfigDocument,
} from '../config/index.js';
import { toDaemonConfig } from '../daemon-config/index.js';
import type { ListenerModule } from '../listeners/module.js';
import { findListenerModule, LISTENER_MODULES, type ListenerConfig } from '../listeners/registry.js';
import { instanceNameProblem, textProblem } from '../module-kit/answers.js';
import { BlockEdit } from '../module-kit/block-edit.js';
import { DialogAborted, LinePrompter } from '../module-kit/prompter.js';

export interface DialogStreams {
  input: Readable;
  output: Writable;
}

const moduleNamed = (name: string | undefined): ListenerModule<ListenerConfig> | undefined =>
  name === undefined ? undefined : findListenerModule(name.toLowerCase());

/** The file's tree, or a new empty one when the user agrees to start from scratch; undefined to stop. */
async function loadOrStartOver(p: LinePrompter, file: string): Promise<ConfigDocument | undefined> {
  try {
    return readConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const missing = (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    p.say(missing ? `${file} does not exist yet.` : `Parsing of ${file} failed: ${err.message}`);
    return (await p.yesNo('Start from scratch', false)) ? { file, items: [] } : undefined;
  }
}

async function askModulePath(p: LinePrompter, document: ConfigDocument): Promise<void> {
  p.say('Every listener and backend module is built into this fence_virtd; nothing is loaded from a module');
  p.say('path. The value is kept in the file only for the C fence_virtd. Answer none to leave it out.');
  p.say();
  const answer = await p.text('Module search path', getValue(document, 'fence_virtd/@module_path') ?? 'none', textProblem);
  if (answer === 'none') removePath(document, 'fence_virtd/@module_path');
  else setValue(document, 'fence_virtd/@module_path', answer);
  p.say();
  p.say('Available backends:');
  for (const m of BACKEND_MODULES) p.say(`    ${m}`);
  p.say('Available listeners:');
  for (const m of LISTENER_MODULES) p.say(`    ${m}`);
  p.say();
}

/** The module a listener entry runs: its block's `module` key, its own name, or asked. */
async function moduleOf(p: LinePrompter, document: ConfigDocument, entry: string): Promise<ListenerModule<ListenerConfig>> {
  const listeners = findBlock(document, 'listeners');
  const block = listeners && childBlocks(listeners, entry).at(-1);
  const key = block && getValue(block, '@module');
  const known = moduleNamed(key) ?? (key === undefined ? moduleNamed(entry) : undefined);
  if (known) return known;
  p.say(`'${entry}' is not a listener module name, so its block must say which module it configures.`);
  const answer = await p.text(`Listener module of ${entry} (${LISTENER_MODULES.join(', ')})`, key ?? 'none', (a) =>
    moduleNamed(a) ? undefined : `No listener module named '${a}' (this fence_virtd has: ${LISTENER_MODULES.join(', ')}).`,
  );
  return moduleNamed(answer) as ListenerModule<ListenerConfig>;
}

async function askListeners(p: LinePrompter, document: ConfigDocument): Promise<void> {
  p.say('Listener modules accept fencing requests from the guests. Several can run side by side: give');
  p.say('their names separated by spaces, e.g. "multicast serial". Each name is a block under listeners;');
  p.say('a block not named after its module (e.g. a second serial listener) gets a module key.');
  p.say();
  const answer = await p.text('Listener module', getValue(document, 'fence_virtd/@listener') ?? 'multicast', (a) => {
    const entries = a.split(/[\s,]+/).filter(Boolean);
    const bad = entries.map(instanceNameProblem).find(Boolean);
    if (bad) return bad;
    const lower = entries.map((e) => e.toLowerCase());
    return new Set(lower).size === lower.length ? undefined : 'Each listener may be named only once.';
  });
  const entries = answer.split(/[\s,]+/).filter(Boolean);
  setValue(document, 'fence_virtd/@listener', entries.join(' '));
  p.say();
  for (const entry of entries) {
    const module = await moduleOf(p, document, entry);
    const { name } = module;
    const block = new BlockEdit(document, `listeners/${entry}`);
    if (entry.toLowerCase() !== name || (block.get('module') ?? name).toLowerCase() !== name) block.set('module', name);
    if (entries.length > 1) p.say(`--- listener ${entry} (${name}) ---`);
    p.explain(module.reference.summary);
    await module.ask(p, block);
  }
}

async function askBackend(p: LinePrompter, document: ConfigDocument): Promise<void> {
  p.say('The backend carries out the requests.');
  p.say();
  const answer = await p.text('Backend module', getValue(document, 'fence_virtd/@backend') ?? 'libvirt', (a) =>
    BACKEND_MODULES.some((m) => m === a.toLowerCase())
      ? undefined
      : `No backend module named '${a}' (this fence_virtd has: ${BACKEND_MODULES.join(', ')}).`,
  );
  const module = findBackendModule(answer.toLowerCase()) as BackendModule<BackendConfig>;
  setValue(document, 'fence_virtd/@backend', module.name);
  p.say();
  await module.ask(p, new BlockEdit(document, `backends/${module.name}`));
}

async function confirmAndWrite(p: LinePrompter, document: ConfigDocument, file: string): Promise<number> {
  p.say('Configuration complete.');
  p.say();
  p.say('=== Begin Configuration ===');
  p.write(formatConfig(document));
  p.say('=== End Configuration ===');
  try {
    toDaemonConfig(document);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    p.say(`Warning: fence_virtd will not start with this configuration: ${err.reason}`);
  }
  if (!(await p.yesNo(`Replace ${file} with the above`, false))) return 1;
  const backup = await backUpConfigFile(file);
  await writeConfigFile(file, document);
  p.say(`Wrote ${file}${backup ? ` (the previous file is ${backup})` : ''}. Check it with: fence_virtd --check -f ${file}`);
  return 0;
}

/** Runs the dialog on `file`; resolves with the exit status (0 written, 1 not written). */
export async function runConfigureDialog(file: string, streams: DialogStreams): Promise<number> {
  const p = new LinePrompter(streams.input, streams.output);
  try {
    p.say(`Using ${file}`);
    const document = await loadOrStartOver(p, file);
    if (!document) return 1;
    await askModulePath(p, document);
    await askListeners(p, document);
    await askBackend(p, document);
    return await confirmAndWrite(p, document, file);
  } catch (err) {
    if (!(err instanceof DialogAborted || err instanceof ConfigError)) throw err;
    p.say(`fence_virtd -c: ${err.message}; ${file} was not changed.`);
    return 1;
  } finally {
    p.close();
  }
}
