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
