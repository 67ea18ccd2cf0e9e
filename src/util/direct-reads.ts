import type { OnReadOpts } from 'node:net';

/**
 * One buffer for the reads of every socket read this way: a read is handed to its reader and copied
 * before the next read can happen (the loop reads one socket at a time), so none needs its own.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * A socket's reads handed straight to one function (the `onread` option of net.connect), instead of
 * through the socket's readable stream: no push, buffer, 'data' event and read-more tick per read,
 * which a request pays on the guest socket and on the libvirt connection alike. 'end', 'error' and
 * 'close' still come as events. Bytes read before a reader is given are kept for it.
 */
export class DirectReads {
  private reader: ((bytes: Buffer) => void) | undefined;
  private early: Buffer[] | undefined;

  readonly onread: OnReadOpts = {
    buffer: READ_BUFFER,
    callback: (length: number, buffer: Uint8Array): boolean => {
      const bytes = Buffer.from(buffer.subarray(0, length));
      if (this.reader) this.reader(bytes);
      else (this.early ??= []).push(bytes);
      return true;
    },
  };

  /** From now on every read goes to `reader`, starting with those kept until now. */
  readTo(reader: (bytes: Buffer) => void): void {
    this.reader = reader;
    const early = this.early;
    this.early = undefined;
    for (const bytes of early ?? []) reader(bytes);
  }
}
