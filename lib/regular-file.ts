import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Thrown by readRegularFile; `code` is an errno code or one of the two below. */
export class FileReadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileReadError';
  }
}

/**
 * Reads a file the way configuration and secrets must be read: only a regular file (a FIFO would
 * block a libuv thread forever, /dev/zero never ends), opened without blocking, and at most
 * `maxBytes` (a larger file is refused before it is read). Throws FileReadError.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new FileReadError(code, code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw new FileReadError('EISDIR', 'is a directory, not a file');
    if (!stats.isFile()) throw new FileReadError('ENOTREGULAR', 'not a regular file (a device, FIFO or socket is never read)');
    if (stats.size > maxBytes) throw new FileReadError('ETOOBIG', `file is ${stats.size} bytes, above the limit of ${maxBytes}`);
    // The size can be 0 (files in /proc) or change while reading: read at most one byte past the limit.
    let buffer = Buffer.alloc(Math.min(maxBytes + 1, Math.max(stats.size + 1, 64 * 1024)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw new FileReadError('ETOOBIG', `file is above the limit of ${maxBytes} bytes`);
        const grown = Buffer.alloc(Math.min(maxBytes + 1, buffer.length * 2));
        buffer.copy(grown);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) return buffer.subarray(0, length);
      length += bytesRead;
    }
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new FileReadError(code, `cannot read file (${code})`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}
