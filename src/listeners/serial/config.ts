import type { BlockReader } from '../../config/block-reader.js';
import type { ModuleReference } from '../../module-kit/reference.js';
import type { SerialMode } from './domain-sockets.js';

export interface SerialListenerConfig {
  module: 'serial';
  name: string;
  /** libvirt URI for the listener's own connection; absent = libvirt's default URI. */
  uri?: string;
  /** Only sockets in this directory count; absent = any directory. */
  path?: string;
  mode: SerialMode;
}

export function readSerialListener(reader: BlockReader, name: string): SerialListenerConfig {
  // C checks that key_file exists even for serial, so it is a known key here
  // (docs/compatibility.md, row 'key file of the serial listener').
  reader.tolerate('key_file');
  const config: SerialListenerConfig = { module: 'serial', name, mode: reader.choice('mode', ['serial', 'vmchannel'], 'serial') };
  const uri = reader.text('uri');
  const path = reader.text('path');
  if (uri !== undefined) config.uri = uri;
  if (path !== undefined) config.path = path;
  return config;
}

export const serialReference: ModuleReference = {
  summary:
    'Guests write requests to a serial port or virtio-serial channel whose host end is a unix socket that QEMU creates; the requester is the VM owning the socket. No key.',
  keys: [
    {
      key: 'uri',
      default: "libvirt's default (LIBVIRT_DEFAULT_URI, else qemu:///system)",
      description: 'The libvirt connection whose domains are watched for sockets.',
    },
    {
      key: 'path',
      default: 'any directory',
      description:
        'Only sockets directly in this directory are used, e.g. /var/run/cluster/fence (create it; QEMU puts the sockets there).',
    },
    {
      key: 'mode',
      default: 'serial',
      fileDefault: 'serial',
      description: 'serial: <serial type="unix"> devices (guest: fence_virt -D /dev/ttySn); vmchannel: <channel type="unix"> devices.',
    },
    { key: 'key_file', default: 'not used', description: 'Ignored by this listener (the C daemon still required the file to exist).' },
  ],
};
