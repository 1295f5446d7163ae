import type { RenderBuffer } from './render-buffer.js';

/**
 * The Prometheus text exposition (0.0.4) rewritten as OpenMetrics 1.0.0, the format Prometheus asks
 * for first. The samples are the same lines; what differs is around them:
 * - a counter family is named without `_total` in its HELP and TYPE lines (its samples keep it);
 *   a counter whose name lacks `_total` is declared `unknown` (OpenMetrics would need the samples
 *   renamed, and Prometheus stores both the same way);
 * - HELP escapes `"` as well as `\` and newlines;
 * - no blank lines (0.0.4 separates families with one), and the body ends with `# EOF`.
 *
 * Input: chunks that break only at line boundaries, just before or just after a newline (what
 * FastRegistry.metricsChunks() and a prom-client metrics() string give). Chunks without a `#` and
 * without a blank line (the bulk: histogram series) are passed on as they are, so the conversion
 * costs little more than the few family headers.
 */
export function toOpenMetrics(chunks: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let atLineStart = true;
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    const untouched: boolean = !chunk.includes(HASH) && !chunk.includes(BLANK_LINE) && !(atLineStart && chunk[0] === NEWLINE_BYTE);
    const converted: Buffer = untouched ? chunk : Buffer.from(convertText(chunk.toString(), atLineStart));
    if (converted.length === 0) continue;
    out.push(converted);
    atLineStart = converted[converted.length - 1] === NEWLINE_BYTE;
  }
  if (!atLineStart) out.push(NEWLINE);
  out.push(EOF);
  return out;
}

/**
 * toOpenMetrics() of the chunks written into `out` from `start` to each of `ends` (FastRegistry's
 * exposition writer), with the result written over them in the same memory, so the conversion needs
 * no second buffer of the exposition's size. The bulk is moved by at most a few bytes (blank lines
 * and `_total` in headers go, `"` in HELP is escaped). False, with `out` untouched, in the one case
 * this cannot be done: when the result runs ahead of a chunk it has yet to move (HELP texts that
 * gained more escapes than the blank lines before them lost).
 */
export function toOpenMetricsInPlace(out: RenderBuffer, start: number, ends: readonly number[]): boolean {
  const source = out.bytes;
  const converted = toOpenMetrics(ends.map((end, i) => source.subarray(i === 0 ? start : ends[i - 1]!, end)));
  const places: { chunk: Buffer; from: number; to: number }[] = [];
  let to = start;
  for (const chunk of converted) {
    const from = chunk.buffer === source.buffer ? chunk.byteOffset - source.byteOffset : -1;
    if (from >= 0 && to > from) return false;
    places.push({ chunk, from, to });
    to += chunk.length;
  }
  // Growing copies the content to the same offsets, so `from` still points at the same bytes.
  const memory = out.reserve(Math.max(0, to - out.length));
  // Each chunk lands at or before where it was and after every chunk before it, so nothing is
  // overwritten before it has been moved; copyWithin moves overlapping bytes correctly.
  for (const { chunk, from, to: at } of places) {
    if (from >= 0) memory.copyWithin(at, from, from + chunk.length);
    else memory.set(chunk, at);
  }
  out.length = to;
  return true;
}

const HASH = 0x23;
const NEWLINE_BYTE = 0x0a;
const BLANK_LINE = Buffer.from('\n\n');
const NEWLINE = Buffer.from('\n');
const EOF = Buffer.from('# EOF\n');
const DESCRIPTOR = /^# (HELP|TYPE) (\S+)(?: (.*))?$/gm;
const TYPE_LINE = /^# TYPE (\S+) (\S+)$/gm;

function convertText(text: string, atLineStart: boolean): string {
  const types = new Map<string, string>();
  for (const [, name, type] of text.matchAll(TYPE_LINE)) types.set(name!, type!);
  let converted = text.replace(/\n{2,}/g, '\n').replace(DESCRIPTOR, (_line, keyword: string, name: string, rest: string | undefined) => {
    const type = types.get(name);
    const family = type === 'counter' && name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
    if (keyword === 'TYPE') return `# TYPE ${family} ${openMetricsType(name, rest ?? '')}`;
    return `# HELP ${family} ${(rest ?? '').replace(/"/g, '\\"')}`;
  });
  if (atLineStart) converted = converted.replace(/^\n+/, '');
  return converted;
}

function openMetricsType(name: string, type: string): string {
  if (type === 'untyped' || (type === 'counter' && !name.endsWith('_total'))) return 'unknown';
  return type;
}
