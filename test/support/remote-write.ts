// A Prometheus remote-write client for tests: WriteRequest protobuf (prompb) encoded by hand, snappy
// block format with literal-only chunks (valid snappy: any decoder reads it; nothing is compressed).
// Used to hand a history to a Prometheus (its remote-write receiver) so that its own remote_write
// forwards it, as it would forward scraped samples.
import { request } from 'undici';

export interface RemoteSeries {
  labels: Record<string, string>;
  /** [Unix seconds, value] */
  samples: Array<[number, number]>;
}

/** Bytes of an unsigned varint. */
function varintLength(n: number): number {
  let length = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    length += 1;
  }
  return length;
}

/** Appends protobuf fields to one growing buffer (timestamps in ms stay below 2^53: plain numbers will do). */
class Writer {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  varint(n: number): void {
    this.room(10);
    while (n >= 128) {
      this.buffer[this.length++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buffer[this.length++] = n;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buffer, this.length);
    this.length += b.length;
  }

  /** A length-delimited field. */
  field(tag: number, body: Buffer): void {
    this.varint((tag << 3) | 2);
    this.varint(body.length);
    this.bytes(body);
  }

  /** A Sample message { double value = 1; int64 timestamp = 2; } as field 2 of a TimeSeries. */
  sample(value: number, timestampMs: number): void {
    const body = 1 + 8 + 1 + varintLength(timestampMs);
    this.varint((2 << 3) | 2);
    this.varint(body);
    this.room(9);
    this.buffer[this.length++] = (1 << 3) | 1;
    this.buffer.writeDoubleLE(value, this.length);
    this.length += 8;
    this.varint((2 << 3) | 0);
    this.varint(timestampMs);
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function encodeSeries(series: RemoteSeries): Buffer {
  const w = new Writer();
  for (const name of Object.keys(series.labels).sort()) {
    const label = new Writer();
    label.field(1, Buffer.from(name));
    label.field(2, Buffer.from(series.labels[name]!));
    w.field(1, label.finish());
  }
  for (const [t, v] of series.samples) w.sample(v, Math.round(t * 1000));
  return w.finish();
}

export function encodeWriteRequest(series: readonly RemoteSeries[]): Buffer {
  const w = new Writer();
  for (const s of series) w.field(1, encodeSeries(s));
  return w.finish();
}

/** Snappy block format: the uncompressed length, then the data as literals of up to 2^32 bytes each. */
export function snappyLiteral(data: Buffer): Buffer {
  const w = new Writer();
  w.varint(data.length);
  for (let offset = 0; offset < data.length; offset += 0xffffffff) {
    const chunk = data.subarray(offset, offset + 0xffffffff);
    const header = Buffer.alloc(5);
    header[0] = 63 << 2;
    header.writeUInt32LE(chunk.length - 1, 1);
    w.bytes(header);
    w.bytes(chunk);
  }
  return w.finish();
}

/** POSTs one WriteRequest; throws with the receiver's answer unless it accepted it (2xx). */
export async function remoteWrite(url: string, series: readonly RemoteSeries[]): Promise<void> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
    body: snappyLiteral(encodeWriteRequest(series)),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`remote write to ${url}: HTTP ${res.statusCode} ${text}`);
}
