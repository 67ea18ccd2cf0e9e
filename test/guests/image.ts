/**
 * The guest kernel and initramfs, built (or found in the cache) by scripts/build-guest-image.sh.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GuestImage {
  readonly kernel: string;
  readonly initrd: string;
}

const buildScript = fileURLToPath(new URL('../../scripts/build-guest-image.sh', import.meta.url));
let image: Promise<GuestImage> | undefined;

/** Builds the image once per process; a cold build downloads the kernel package (~70 MB). */
export function ensureGuestImage(): Promise<GuestImage> {
  image ??= run('bash', [buildScript], { maxBuffer: 1 << 20, timeout: 600_000 }).then(({ stdout }) => {
    const dir = stdout.trim().split('\n').at(-1) ?? '';
    return { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img') };
  });
  return image;
}
