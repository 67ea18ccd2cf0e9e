/**
 * libvirt test-driver node descriptions for the serial listener tests: domains with unix-socket serial
 * ports and channels at paths chosen by the test (written before the daemon starts, opened as
 * `test+unix:///ABS/PATH.xml`).
 */
export interface TestDomain {
  name: string;
  uuid: string;
  /** Starts shut off (test:runstate 5). */
  off?: boolean;
  /** `<serial type='unix'><source mode='bind'>`: qemu listens, the serial listener connects. */
  serial?: readonly string[];
  /** `<channel type='unix'>` with a virtio-serial target. */
  channels?: readonly string[];
  /** `<channel type='unix'>` with a guestfwd target (vmchannel over the guest's TCP). */
  guestfwd?: readonly string[];
  /** `<serial type='unix'><source mode='connect'>`: qemu connects out; never used by the listener. */
  connectSerial?: readonly string[];
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

function devices(d: TestDomain): string[] {
  const source = (mode: string, path: string) => `<source mode='${mode}' path='${attr(path)}'/>`;
  return [
    ...(d.serial ?? []).map((p, i) => `<serial type='unix'>${source('bind', p)}<target port='${i + 1}'/></serial>`),
    ...(d.connectSerial ?? []).map((p, i) => `<serial type='unix'>${source('connect', p)}<target port='${i + 10}'/></serial>`),
    ...(d.channels ?? []).map(
      (p, i) => `<channel type='unix'>${source('bind', p)}<target type='virtio' name='org.fence-virt.${i}'/></channel>`,
    ),
    ...(d.guestfwd ?? []).map(
      (p, i) => `<channel type='unix'>${source('bind', p)}<target type='guestfwd' address='10.0.2.179' port='${1229 + i}'/></channel>`,
    ),
  ];
}

/** One domain's description, indented by `indent`, as the node file holds it. */
export function domainXml(d: TestDomain, indent = ''): string {
  return [
    `<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>`,
    `  <name>${d.name}</name>`,
    `  <uuid>${d.uuid}</uuid>`,
    `  <memory>65536</memory>`,
    `  <vcpu>1</vcpu>`,
    `  <os><type>hvm</type></os>`,
    `  <devices>`,
    ...devices(d).map((line) => `    ${line}`),
    `  </devices>`,
    ...(d.off ? ['  <test:runstate>5</test:runstate>'] : []),
    `</domain>`,
  ]
    .map((line) => indent + line)
    .join('\n');
}

export function nodeXml(domains: readonly TestDomain[]): string {
  const body = domains.map((d) => domainXml(d, '  '));
  return `<?xml version="1.0"?>\n<node>\n${body.join('\n')}\n</node>\n`;
}
