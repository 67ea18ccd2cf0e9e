/**
 * Libvirt domain XML for a test guest: TCG (nested KVM is unusably slow here), direct kernel boot,
 * no network interface, console on ttyS0 into a file, optional unix-socket serial ports and channels.
 */

export interface DomainSpec {
  readonly name: string;
  readonly uuid: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  readonly memoryMiB: number;
  /** ttyS0, appended across boots so a restarted guest's markers follow the earlier ones. */
  readonly consolePath: string;
  /** ttyS1: qemu listens on this unix socket (the serial listener's side). */
  readonly serialSocket?: string;
  /** ttyS2: the harness's command port. */
  readonly controlSocket?: string;
  readonly channels: readonly { readonly name: string; readonly socket: string }[];
  /** Share the host's / read-only as 9p tag "hostroot". */
  readonly hostRoot: boolean;
  /** A guest that should stay up restarts on reboot like a real VM; a one-shot guest must not loop. */
  readonly restartOnReboot: boolean;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
}

function unixSerial(port: number, path: string | undefined): string {
  // A null device still occupies the port, so ttyS2 stays ttyS2 without a ttyS1 socket.
  if (path === undefined) return `<serial type='null'><target port='${port}'/></serial>`;
  return `<serial type='unix'><source mode='bind' path='${esc(path)}'/><target port='${port}'/></serial>`;
}

export function domainXml(spec: DomainSpec): string {
  const devices = [
    `<serial type='file'><source path='${esc(spec.consolePath)}' append='on'/><target port='0'/></serial>`,
    unixSerial(1, spec.serialSocket),
    ...(spec.controlSocket === undefined ? [] : [unixSerial(2, spec.controlSocket)]),
    ...spec.channels.map(
      (ch) =>
        `<channel type='unix'><source mode='bind' path='${esc(ch.socket)}'/>` + `<target type='virtio' name='${esc(ch.name)}'/></channel>`,
    ),
    ...(spec.hostRoot
      ? [
          // remap: the host's / spans several filesystems whose inode numbers collide (e.g. /proc and
          // /sys), which otherwise makes the guest see one mount point through the other.
          `<filesystem type='mount' accessmode='passthrough' multidevs='remap'><source dir='/'/>` +
            `<target dir='hostroot'/><readonly/></filesystem>`,
        ]
      : []),
    `<controller type='usb' model='none'/>`,
    `<memballoon model='none'/>`,
  ];
  return [
    `<domain type='qemu'>`,
    `  <name>${esc(spec.name)}</name>`,
    `  <uuid>${spec.uuid}</uuid>`,
    `  <memory unit='MiB'>${spec.memoryMiB}</memory>`,
    `  <vcpu>1</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='pc'>hvm</type>`,
    `    <kernel>${esc(spec.kernel)}</kernel>`,
    `    <initrd>${esc(spec.initrd)}</initrd>`,
    `    <cmdline>${esc(spec.cmdline)}</cmdline>`,
    `  </os>`,
    `  <features><acpi/></features>`,
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>${spec.restartOnReboot ? 'restart' : 'destroy'}</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    ...devices.map((d) => `    ${d}`),
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}
