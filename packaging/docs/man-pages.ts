/**
 * The four man pages, built from what the programs themselves use: fence_virtd's options from its
 * --help text, the configuration keys from the configuration reference, the agents' options from
 * their option table. Only the prose around them is written here.
 */
import { lettersOf, optionByLetter, optionTable } from '../../src/agent/option-table.js';
import { FENCE_VIRT, FENCE_XVM, type AgentProgram } from '../../src/agent/program.js';
import { DEFAULT_HISTORY_FILE } from '../../src/daemon-config/index.js';
import { CONFIG_REFERENCE } from '../../src/daemon-config/reference.js';
import { daemonUsage } from '../../src/daemon/cli-options.js';
import { DEFAULT_CONFIG_FILE, DEFAULT_KEY_FILE, DEFAULT_PORT } from '../../src/protocol/constants.js';
import { VERSION } from '../../src/version.js';
import { item, literal, paragraph, section, subsection, type Block, type ManPage } from './roff.js';

export interface PageOptions {
  /** e.g. 2025-01-31; the build passes one derived from SOURCE_DATE_EPOCH for reproducible pages. */
  date: string;
}

const SOURCE = `fence-virtd ${VERSION}`;

/** fence_virtd's options as its --help lists them: option column, then the description. */
export function daemonOptions(): Array<{ option: string; description: string }> {
  return daemonUsage('fence_virtd')
    .split('\n')
    .map((line) => /^ {2}(-\S+(?: <\w+>)?)\s{2,}(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ option: m[1] as string, description: m[2] as string }));
}

export const EXAMPLE_CONFIG = `fence_virtd {
	listener = "multicast serial";
	backend = "libvirt";
}

listeners {
	multicast {
		interface = "virbr0";
		key_file = "${DEFAULT_KEY_FILE}";
	}
	serial {
		uri = "qemu:///system";
		path = "/var/run/cluster/fence";
		mode = "serial";
	}
}

backends {
	libvirt {
		uri = "qemu:///system";
	}
}

groups {
	group {
		name = "cluster1";
		ip = "192.168.122.11";
		ip = "192.168.122.12";
		uuid = "node1";
		uuid = "node2";
	}
}`;

function fenceVirtd(o: PageOptions): ManPage {
  const blocks: Block[] = [
    section('name'),
    paragraph('fence_virtd \u2014 fences virtual machines on behalf of the cluster running inside them'),
    section('synopsis'),
    paragraph('fence_virtd [-F] [-w] [-d level] [-f file] [-p file]'),
    paragraph('fence_virtd -c [-f file]'),
    paragraph('fence_virtd --check [-f file]'),
    paragraph('fence_virtd --history [--json] [-f file]'),
    section('description'),
    paragraph(
      'fence_virtd runs on a virtualization host. Guests that form a cluster (for example with Pacemaker) ask it, through the agents fence_xvm(8) and ' +
        'fence_virt(8), to power a misbehaving guest off, on, or to reboot it, to report its state, or to list the guests. Requests are signed with ' +
        'a key shared by the hosts and guests and answered after a challenge-response on that key; a permission map can limit which guest may fence which.',
    ),
    paragraph(
      `It reads ${DEFAULT_CONFIG_FILE} (see fence_virt.conf(5)): one or more listeners accept requests (multicast, tcp, vsock, serial), one backend ` +
        'carries them out (libvirt for the guests of this host, cpg for guests that migrate between the hosts of a corosync cluster). The wire protocol, ' +
        'the configuration file and the options are those of the C fence_virtd of fence-virt 4.12, so either side can be replaced by the other.',
    ),
    section('options'),
    ...daemonOptions().map((o) => item(o.option, o.description)),
    section('configuring'),
    paragraph(
      'fence_virtd -c asks for the listener, its address, port, interface and key file, the backend and its libvirt URI, offering the current values ' +
        'of the file as defaults, shows the result and replaces the file (mode 0600) after confirmation. Answers may be piped on standard input; an ' +
        'empty line or the end of input takes the default. Several listeners can be given at the Listener module prompt, separated by spaces. ' +
        'Which prompts appear depends on the file, so scripts should not pipe answers but use --set.',
    ),
    paragraph(
      "fence_virtd --set PATH=VALUE (repeatable; -c may be given or not) changes the file without questions: PATH is the key's place in the file, " +
        'for example listeners/multicast/interface=virbr0 or backends/libvirt/uri=qemu:///system, and the value none removes the key so that ' +
        'its default applies. Keys not named stay as they are. The file is written only if fence_virtd would start with the result; keys it does ' +
        'not know are reported as warnings.',
    ),
    paragraph(
      'Both ways keep the order and the comments of the file (a comment at the end of a line moves to the line before the next item), keep ' +
        'the previous file as FILE.bak (mode 0600, replacing an older copy), and write the new one atomically with mode 0600.',
    ),
    section('checking'),
    paragraph(
      'fence_virtd --check reads the configuration and tests what a fencing request would otherwise only reveal by failing: that the file parses, ' +
        'the key files exist, are readable, not empty and mode 0600, the libvirt URIs connect and list domains, each listener can bind its port ' +
        '(the interface exists and is up, a route covers the multicast group), the serial socket directory exists and which running domains have ' +
        'sockets there, and that the permission groups name existing domains. It prints one line per check, OK, WARN or FAIL with a fix, and exits 0 ' +
        'when nothing failed.',
    ),
    section('signals'),
    item('SIGHUP', 'Re-reads the key files and the permission groups; requests in progress finish with what they started with.'),
    item('SIGTERM, SIGINT, SIGQUIT', 'Stops accepting requests, lets running ones finish, removes the pid file and exits 0.'),
    section('files'),
    item(DEFAULT_CONFIG_FILE, 'The configuration (fence_virt.conf(5)).'),
    item(
      DEFAULT_KEY_FILE,
      `The default shared key; create it with: dd if=/dev/urandom of=${DEFAULT_KEY_FILE} bs=4096 count=1 && chmod 600 ${DEFAULT_KEY_FILE}`,
    ),
    item('/var/run/fence_virtd.pid', 'The pid file (-p); a second instance refuses to start while it names a running fence_virtd.'),
    item(DEFAULT_HISTORY_FILE, 'The record of fencing actions that fence_virtd --history prints (history_file, history_entries).'),
    item('/etc/sysconfig/fence_virtd', 'FENCE_VIRTD_ARGS, the options the systemd unit passes (default -w).'),
    section('exit status'),
    paragraph('0 after a clean stop, after -h, -V, a written -c configuration, or a --check without failures; 1 otherwise.'),
    section('differences from the C fence_virtd'),
    paragraph(
      'Several listeners in one process; requests for different domains run concurrently; auth in the tcp and vsock blocks sets the challenge-response ' +
        'algorithm (C stored it as the minimum hash); an unreadable key file is an error instead of running without authentication; the serial listener ' +
        'needs no key file; an unknown multicast interface, an invalid port or flag value is an error; duplicate requests in progress and failed ' +
        'connect-backs are remembered too; SIGHUP reloads keys and groups; -c keeps the order of the file and stores every answer.',
    ),
    section('see also'),
    paragraph('fence_virt.conf(5), fence_xvm(8), fence_virt(8), virsh(1)'),
  ];
  return { name: 'fence_virtd', section: 8, manual: "System Manager's Manual", date: o.date, source: SOURCE, blocks };
}

function fenceVirtConf(o: PageOptions): ManPage {
  const reference = CONFIG_REFERENCE.flatMap((b): Block[] => [
    subsection(`${b.path} \u2014 ${b.usedBy}`),
    paragraph(b.summary),
    ...b.keys.map((k) => item(k.key, `${k.description} Default: ${k.default}.`)),
  ]);
  const blocks: Block[] = [
    section('name'),
    paragraph('fence_virt.conf \u2014 configuration of fence_virtd(8)'),
    section('description'),
    paragraph(
      `fence_virtd reads ${DEFAULT_CONFIG_FILE} (or the file given with -f). It consists of blocks, name { ... }, holding assignments, ` +
        'key = "value"; and further blocks. Values are always in double quotes, cannot be empty and cannot contain a double quote; the semicolon is ' +
        'required; there is no semicolon after a closing brace. A # starts a comment where a name could start. Names are compared ignoring case. When ' +
        'a key is repeated, the last one counts; when a block is repeated, only the last one is read.',
    ),
    section('several listeners'),
    paragraph(
      'fence_virtd/listener may name several listeners, separated by spaces or commas. Each name selects the block of that name under listeners. ' +
        "The block's module is its module key, or else its name, so a single name such as multicast means what it meant to the C fence_virtd. " +
        'Two serial listeners, one for serial ports and one for virtio-serial channels:',
    ),
    literal(
      'fence_virtd {\n\tlistener = "serial vmchannel";\n\tbackend = "libvirt";\n}\nlisteners {\n\tserial {\n\t\tpath = "/var/run/cluster/fence";\n\t}\n' +
        '\tvmchannel {\n\t\tmodule = "serial";\n\t\tmode = "vmchannel";\n\t\tpath = "/var/run/cluster/fence";\n\t}\n}',
    ),
    section('keys'),
    ...reference,
    section('permissions'),
    paragraph(
      'Without groups every requester may fence every domain. With groups, a request from requester R for domain D is carried out only when some ' +
        'group lists R (ip for network listeners and vsock CIDs, uuid for the VM behind a serial socket) and lists D (uuid, by name or UUID, exactly as ' +
        'the request names it: list both forms to allow both). A requester in no group gets an empty list and permission denied.',
    ),
    section('example'),
    literal(EXAMPLE_CONFIG),
    section('see also'),
    paragraph('fence_virtd(8), fence_xvm(8), fence_virt(8)'),
  ];
  return { name: 'fence_virt.conf', section: 5, manual: 'File Formats Manual', date: o.date, source: SOURCE, blocks };
}

const ACTIONS =
  'null (a no-op request), off, on, reboot (the default; it does not power on a domain that is off), status, monitor (is fence_virtd reachable), ' +
  'list and list-status (one line per domain: name, UUID, on or off), metadata (the XML description Pacemaker reads), validate-all (checks the options only).';

function agent(program: AgentProgram, o: PageOptions): ManPage {
  const letters = lettersOf(program.optstring).filter((l) => optionByLetter(l)?.usage !== undefined);
  const options = letters.map((letter) => {
    const spec = optionByLetter(letter);
    const stdin = spec?.stdinName ? ` Standard input: ${spec.stdinName}.` : '';
    const fallback =
      spec?.default !== undefined && spec.contentType !== 'boolean' && !/default=/.test(spec.description)
        ? ` Default: ${spec.default}.`
        : '';
    return item(spec?.usage ?? `-${letter}`, `${spec?.description ?? ''}.${fallback}${stdin}`.replace(/\.\./g, '.'));
  });
  const stdinOnly = optionTable
    .filter((s) => !s.letter && s.stdinName && !/Not user serviceable/.test(s.description))
    .map((s) => s.stdinName);
  const how =
    program.name === 'fence_xvm'
      ? 'fence_xvm multicasts a signed request to the group fence_virtd listens on and waits for the host to connect back to it (on the TCP port given with -p).'
      : 'fence_virt reaches fence_virtd over TCP (-T), vsock (-S), a serial port (-D) or, by default, a vmchannel address (-A).';
  const blocks: Block[] = [
    section('name'),
    paragraph(`${program.name} \u2014 fence agent for virtual machines served by fence_virtd`),
    section('synopsis'),
    paragraph(`${program.name} [options]`),
    paragraph(`${program.name} < parameters`),
    section('description'),
    paragraph(
      `${how} The domain is named with -n (or -H), by name or UUID. Without command-line arguments the options are read from standard input as name=value lines, the way Pacemaker passes them.`,
    ),
    section('options'),
    ...options,
    section('standard input'),
    paragraph(
      `One name=value per line; lines starting with # are skipped; a value ends at the first white space. Besides the names above: ${stdinOnly.join(', ')}.`,
    ),
    section('actions'),
    paragraph(ACTIONS),
    section('exit status'),
    paragraph(
      '0 success (status: the domain is on), 1 failure (including "Timed out waiting for response"), 2 the domain is off (status), 3 permission denied, ' +
        '255 no answer could be read.',
    ),
    section('example'),
    literal(
      program.name === 'fence_xvm'
        ? `fence_xvm -a 225.0.0.12 -p ${DEFAULT_PORT} -k ${DEFAULT_KEY_FILE} -o list\nfence_xvm -o off -H node2`
        : `fence_virt -T 192.168.122.1 -p ${DEFAULT_PORT} -o status -H node2\nfence_virt -D /dev/ttyS1 -o list`,
    ),
    section('see also'),
    paragraph(`fence_virtd(8), fence_virt.conf(5), ${program.name === 'fence_xvm' ? 'fence_virt(8)' : 'fence_xvm(8)'}`),
  ];
  return { name: program.name, section: 8, manual: "System Manager's Manual", date: o.date, source: SOURCE, blocks };
}

export function manPages(o: PageOptions): ManPage[] {
  return [fenceVirtd(o), fenceVirtConf(o), agent(FENCE_XVM, o), agent(FENCE_VIRT, o)];
}
