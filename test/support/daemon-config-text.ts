/** fence_virt.conf text for tests that start our daemon or the C one with the same settings. */
export interface ConfigTextOptions {
  listeners: Record<string, Record<string, string>>;
  backendUri: string;
  /** The backend module (default libvirt) and keys of its block besides uri. */
  backend?: string;
  backendKeys?: Record<string, string>;
  groups?: Array<{ name?: string; ip?: string[]; uuid?: string[] }>;
  extraDaemonKeys?: Record<string, string>;
}

export function configText(o: ConfigTextOptions): string {
  const kv = (indent: string, entries: Record<string, string>) =>
    Object.entries(entries)
      .map(([k, v]) => `${indent}${k} = "${v}";`)
      .join('\n');
  const listeners = Object.entries(o.listeners)
    .map(([name, keys]) => `\t${name} {\n${kv('\t\t', keys)}\n\t}`)
    .join('\n');
  const groups = (o.groups ?? [])
    .map((g) => {
      const lines = [
        ...(g.name ? [`\t\tname = "${g.name}";`] : []),
        ...(g.ip ?? []).map((ip) => `\t\tip = "${ip}";`),
        ...(g.uuid ?? []).map((u) => `\t\tuuid = "${u}";`),
      ];
      return `\tgroup {\n${lines.join('\n')}\n\t}`;
    })
    .join('\n');
  return [
    'fence_virtd {',
    `\tlistener = "${Object.keys(o.listeners).join(' ')}";`,
    `\tbackend = "${o.backend ?? 'libvirt'}";`,
    kv('\t', o.extraDaemonKeys ?? {}),
    '}',
    'listeners {',
    listeners,
    '}',
    'backends {',
    `\t${o.backend ?? 'libvirt'} {\n${kv('\t\t', { uri: o.backendUri, ...o.backendKeys })}\n\t}`,
    '}',
    ...(groups ? ['groups {', groups, '}'] : []),
    '',
  ].join('\n');
}
