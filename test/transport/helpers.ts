/** Small helpers of the transport tests. */
import type { Readable } from 'node:stream';
import { fdTargets } from '../../src/util/proc-fds.js';

/** This process's open fds as "fd -> target". */
export function openFds(): Set<string> {
  return new Set([...fdTargets('self')].map(([fd, target]) => `${fd} -> ${target}`));
}

/**
 * The fds open now that were not in `before`: once everything was closed, a leak shows up here.
 * Comparing sets, not counts, keeps an unrelated fd that closed meanwhile from hiding or faking one.
 */
export function fdsOpenedSince(before: Set<string>): string[] {
  return [...openFds()].filter((fd) => !before.has(fd));
}

/** How many of this process's fds refer to `path` (a device or FIFO it opened). */
export function fdsOpenOn(path: string): number {
  return [...fdTargets('self').values()].filter((target) => target === path).length;
}

/** Collects exactly `length` bytes from a stream (leaving the rest unread). */
export function readBytes(stream: Readable, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (have >= length) {
        cleanup();
        const all = Buffer.concat(chunks);
        if (all.length > length) stream.unshift(all.subarray(length));
        resolve(all.subarray(0, length));
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`stream ended after ${have} of ${length} bytes`));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      stream.pause();
    };
    stream.on('data', onData).on('end', onEnd).on('error', onError).resume(); // resume: a 'data' listener alone does not undo pause()
  });
}

/** Resolves when the stream ends (its peer closed), with everything read before that. */
export function readToEnd(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.resume();
  });
}
