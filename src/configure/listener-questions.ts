/** The `-c` questions for each listener module (PROTOCOL.md §7.5 step 3, plus vsock which C could not configure). */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { ListenerModule } from '../config/index.js';
import { interfaceNames } from '../util/network-info.js';
import { DEFAULT_IPV4_GROUP, DEFAULT_IPV6_GROUP, DEFAULT_KEY_FILE, DEFAULT_PORT } from '../protocol/constants.js';
import { addressProblem, familyOf, multicastGroupProblem, parsePort, portProblem, textProblem } from '../module-kit/answers.js';
import type { BlockEdit } from '../module-kit/block-edit.js';
import { describeKey } from '../daemon-config/reference.js';
import type { LinePrompter } from '../module-kit/prompter.js';

/** Asks for the block's address and stores it with the family it belongs to. */
async function askAddress(p: LinePrompter, block: BlockEdit, label: string, defaults: Record<'ipv4' | 'ipv6', string>, problem: (a: string) => string | undefined): Promise<void> {
  const family = block.get('family')?.toLowerCase() === 'ipv6' ? 'ipv6' : 'ipv4';
  const address = await p.text(label, block.get('address') ?? defaults[family], problem);
  const chosen = familyOf(address) as 'ipv4' | 'ipv6';
  p.say(`Using ${chosen} as family.`);
  p.say();
  block.set('family', chosen);
  block.set('address', address);
}

async function askPort(p: LinePrompter, block: BlockEdit, label: string): Promise<void> {
  const answer = await p.text(label, block.get('port') ?? String(DEFAULT_PORT), portProblem);
  block.set('port', String(parsePort(answer)));
  p.say();
}

async function askKeyFile(p: LinePrompter, block: BlockEdit, module: ListenerModule): Promise<void> {
  p.explain(`${describeKey(module, 'key_file')} Answer none to use the default.`);
  const answer = await p.text('Key File', block.get('key_file') ?? DEFAULT_KEY_FILE, async (a) => {
    if (a === 'none') return undefined;
    const problem = textProblem(a);
    if (problem) return problem;
    if (isAbsolute(a) || (await p.yesNo(`'${a}' is a relative path; fence_virtd resolves it from its working directory (/ under systemd). Use anyway`, true))) return undefined;
    return 'Enter an absolute path.';
  });
  block.setOrRemove('key_file', answer);
  const path = answer === 'none' ? DEFAULT_KEY_FILE : answer;
  if (!existsSync(path)) {
    p.say(`Note: ${path} does not exist yet; fence_virtd will not start without it. Create it, then copy it to every guest:`);
    p.say(`  dd if=/dev/urandom of=${path} bs=4096 count=1 && chmod 600 ${path}`);
  }
  p.say();
}

/** This host's interface names, or undefined when they cannot be listed (no iproute2): then any name goes. */
function knownInterfaces(): string[] | undefined {
  try {
    return interfaceNames();
  } catch {
    return undefined;
  }
}

async function askInterface(p: LinePrompter, block: BlockEdit): Promise<void> {
  const names = knownInterfaces();
  p.explain(`${describeKey('multicast', 'interface')} ${names ? `Interfaces here: ${names.join(', ')}. ` : ''}Answer none to let the routing table choose.`);
  const current = block.get('interface');
  const answer = await p.text('Interface', current ?? 'none', async (a) => {
    if (a === 'none') return undefined;
    const problem = textProblem(a);
    if (problem) return problem;
    if (!names || names.includes(a)) return undefined;
    // It may appear later (virbr0 exists once libvirt's network runs), so it can be kept on request.
    if (await p.yesNo(`There is no interface ${a} on this host now. Use this value anyway`, a === current)) return undefined;
    return 'Enter an interface name or none.';
  });
  block.setOrRemove('interface', answer);
  p.say();
}

async function multicast(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeKey('multicast', 'address'));
  await askAddress(p, block, 'Multicast IP Address', { ipv4: DEFAULT_IPV4_GROUP, ipv6: DEFAULT_IPV6_GROUP }, multicastGroupProblem);
  await askPort(p, block, 'Multicast IP Port');
  await askInterface(p, block);
  await askKeyFile(p, block, 'multicast');
}

async function tcp(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeKey('tcp', 'address'));
  await askAddress(p, block, 'TCP Listen IP Address', { ipv4: '127.0.0.1', ipv6: '::1' }, addressProblem);
  await askPort(p, block, 'TCP Listen Port');
  await askKeyFile(p, block, 'tcp');
}

async function vsock(p: LinePrompter, block: BlockEdit): Promise<void> {
  await askPort(p, block, 'VSOCK Listen Port');
  await askKeyFile(p, block, 'vsock');
}

async function serial(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeKey('serial', 'uri'));
  block.set('uri', await p.text('Libvirt URI', block.get('uri') ?? 'qemu:///system', textProblem));
  p.say();
  p.explain(`${describeKey('serial', 'path')} Answer none to accept sockets in any directory.`);
  const path = await p.text('Socket directory', block.get('path') ?? 'none', textProblem);
  block.setOrRemove('path', path);
  if (path !== 'none' && !existsSync(path)) p.say(`Note: ${path} does not exist yet; create it before the guests start: mkdir -p ${path}`);
  p.say();
  p.explain(describeKey('serial', 'mode'));
  const mode = await p.text('Mode (serial or vmchannel)', block.get('mode') ?? 'serial', (a) =>
    ['serial', 'vmchannel'].includes(a.toLowerCase()) ? undefined : `Invalid mode '${a}': expected serial or vmchannel.`,
  );
  block.set('mode', mode.toLowerCase());
  p.say();
}

export const LISTENER_QUESTIONS: Readonly<Record<ListenerModule, (p: LinePrompter, block: BlockEdit) => Promise<void>>> = {
  multicast,
  tcp,
  serial,
  vsock,
};
