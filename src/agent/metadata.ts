/**
 * `-o metadata`: the fence-agents XML description Pacemaker reads
 * (docs/protocol.md#agent-metadata-and-help), with the C agents' parameters, attributes, defaults and
 * action list, in their order and layout.
 */
import { lettersOf, optionByLetter, optionTable, type OptionSpec } from './option-table.js';
import type { AgentProgram } from './program.js';

const ACTIONS = ['null', 'on', 'off', 'reboot', 'metadata', 'status', 'monitor', 'list', 'list-status', 'validate-all'];

const escapeText = (text: string): string => text.replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Pacemaker must ask for a parameter that has neither a default nor a boolean type. */
function required(spec: OptionSpec, name: string): 0 | 1 {
  return spec.contentType === 'boolean' || spec.default !== undefined || name === 'multicast_address' || spec.compat ? 0 : 1;
}

function parameter(spec: OptionSpec, name: string, getopt: string): string {
  let attributes = `name="${name}" unique="0" required="${required(spec, name)}"`;
  if (spec.obsoletes) attributes += ` obsoletes="${spec.obsoletes}"`;
  else if (spec.deprecated || spec.compat) attributes += ' deprecated="1"';
  const content = spec.default === undefined ? `type="${spec.contentType}"` : `type="${spec.contentType}" default="${spec.default}"`;
  return (
    `\t<parameter ${attributes}>\n` +
    `\t\t<getopt mixed="${getopt}" />\n` +
    `\t\t<content ${content} />\n` +
    `\t\t<shortdesc lang="en">${escapeText(spec.description)}</shortdesc>\n` +
    '\t</parameter>\n'
  );
}

export function metadataXml(program: AgentProgram): string {
  let out =
    '<?xml version="1.0" ?>\n' +
    `<resource-agent name="${program.name}" shortdesc="Fence agent for virtual machines">\n` +
    `<longdesc>${program.name} is an I/O Fencing agent which can be used with virtual machines.\n\n` +
    'NOTE: reboot-action does not power on nodes that are powered off.</longdesc>\n' +
    '<vendor-url>https://libvirt.org</vendor-url>\n' +
    '<parameters>\n';
  for (const letter of lettersOf(program.optstring)) {
    const spec = optionByLetter(letter);
    if (spec?.stdinName) out += parameter(spec, spec.stdinName, `-${letter}`);
  }
  for (const spec of optionTable) if (spec.compat && spec.stdinName) out += parameter(spec, spec.stdinName, '');
  out += '</parameters>\n<actions>\n';
  for (const action of ACTIONS) out += `\t<action name="${action}" />\n`;
  return `${out}</actions>\n</resource-agent>\n`;
}
