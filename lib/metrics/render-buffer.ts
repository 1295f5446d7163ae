const MIN_CAPACITY = 16 * 1024;

/**
 * Bytes written one after another into memory that is kept and written again: a /metrics render of 50
 * ICMP targets is ~1.5 MB, and a new Buffer per scrape stayed in memory until a major collection found
 * it (6-8 MiB of array buffers on an ICMP agent, bench/results/memory-analysis.md). The memory grows
 * by doubling to the largest content it held and is never shrunk.
 */
export class RenderBuffer {
  /** Its own ArrayBuffer (allocUnsafeSlow: never a slice of Node's shared pool), so views of it can be told apart. */
  private memory: Buffer;
  /** Bytes written so far; writing past it with `reserve()` and then setting it is allowed. */
  length = 0;

  constructor(capacity = MIN_CAPACITY) {
    this.memory = Buffer.allocUnsafeSlow(capacity);
  }

  get capacity(): number {
    return this.memory.length;
  }

  /** The memory itself (valid until the next reserve or append, which may move the content). */
  get bytes(): Buffer {
    return this.memory;
  }

  /** What was written: a view, valid until the buffer is written again. */
  get content(): Buffer {
    return this.memory.subarray(0, this.length);
  }

  /** Makes room for `more` bytes after `length`; returns the memory to write them into. */
  reserve(more: number): Buffer {
    const needed = this.length + more;
    if (needed > this.memory.length) {
      let capacity = this.memory.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = Buffer.allocUnsafeSlow(capacity);
      grown.set(this.memory.subarray(0, this.length));
      this.memory = grown;
    }
    return this.memory;
  }

  append(part: Uint8Array): void {
    this.reserve(part.length).set(part, this.length);
    this.length += part.length;
  }

  appendString(text: string): void {
    // One UTF-8 byte per character is the common case; three per UTF-16 unit always suffices.
    this.length += this.reserve(text.length * 3).write(text, this.length, 'utf8');
  }

  clear(): void {
    this.length = 0;
  }
}

/**
 * Render buffers that are free to be written, handed out and given back. A buffer is given back only
 * once nothing reads it any more (every response that sends it has closed), so a slow client never
 * sees its bytes overwritten by the next scrape: that scrape takes another buffer. At most `keep`
 * free buffers are kept; any more are left to the garbage collector.
 */
export class RenderBufferPool {
  private readonly free: RenderBuffer[] = [];

  /** 3: a text and a compressed buffer for Prometheus's scrapes, and one held a while for another variant (a curl). */
  constructor(private readonly keep = 3) {}

  /** The free buffer whose capacity is nearest to `expected` bytes (none: a new one of that size), emptied. */
  acquire(expected = 0): RenderBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (best < 0 || Math.abs(this.free[i]!.capacity - expected) < Math.abs(this.free[best]!.capacity - expected)) best = i;
    }
    const buffer = best < 0 ? new RenderBuffer(Math.max(expected, MIN_CAPACITY)) : this.free.splice(best, 1)[0]!;
    buffer.clear();
    return buffer;
  }

  release(buffer: RenderBuffer): void {
    if (this.free.length < this.keep && !this.free.includes(buffer)) this.free.push(buffer);
  }

  get freeCount(): number {
    return this.free.length;
  }
}
