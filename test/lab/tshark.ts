// Captures packets in a lab namespace and decodes them with Wireshark's dissectors (Debian
// package tshark), for tests that check a wire format against an independent implementation.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { run } from './run.js';

/** One dissected field: where it is in the frame, its raw bytes (hex) and what Wireshark shows. */
export interface DissectedField {
  pos: number;
  size: number;
  show: string;
  value: string;
}

export interface DissectedPacket {
  /** frame.time_epoch as Unix ns (the capturing host's clock). */
  frameTimeNs: bigint;
  srcPort: number;
  dstPort: number;
  /** Offset of the dissected protocol in the frame (its first field is at payload offset 0). */
  protocolPos: number;
  protocolSize: number;
  /** By field name; the first occurrence of each name (sub-fields of bitmasks are left out). */
  fields: Map<string, DissectedField>;
}

export interface Capture {
  file: string;
  /** Runs tshark on the capture with `dissector` for UDP port `port`, keeping packets matching `filter`. */
  dissect(port: number, dissector: string, filter: string): Promise<DissectedPacket[]>;
  remove(): void;
}

/** Captures `count` packets matching the capture filter on `iface` inside `ns`; rejects after `timeoutMs`. */
export async function capture(lab: Lab, ns: string, iface: string, captureFilter: string, count: number, timeoutMs = 20_000): Promise<Capture> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-tshark-'));
  const file = join(dir, 'capture.pcapng');
  const child = lab.spawn(ns, ['tshark', '-q', '-i', iface, '-f', captureFilter, '-c', String(count), '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`tshark capture on ${ns}/${iface} (${captureFilter}) failed (exit ${code}): ${stderr.trim()}`);
  }
  return {
    file,
    dissect: async (port, dissector, filter) => {
      const { stdout } = await run(['tshark', '-r', file, '-d', `udp.port==${port},${dissector}`, '-Y', filter, '-T', 'pdml']);
      return parsePdml(stdout, dissector);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Captures on `iface` inside `ns` (any namespace: `spawn` runs argv in it, e.g. lab.spawn) while
 * `during` runs, then returns the values of `fields` (tshark -e names) of each packet matching
 * `displayFilter`, one row per packet ('' for a field the packet lacks).
 */
export async function captureFields(
  spawn: (ns: string, argv: string[], options: SpawnOptions) => ChildProcess,
  ns: string,
  iface: string,
  captureFilter: string,
  during: () => Promise<void>,
  fields: readonly string[],
  displayFilter = '',
): Promise<string[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'linkmon-tshark-'));
  const file = join(dir, 'capture.pcapng');
  try {
    const child = spawn(ns, ['tshark', '-q', '-i', iface, '-f', captureFilter, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // tshark logs "Capture started" once dumpcap captures ("Capturing on" comes before that); bounded by 20 s.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tshark did not start capturing on ${ns}/${iface}: ${stderr}`)), 20_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('Capture started')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`tshark exited before capturing on ${ns}/${iface}: ${stderr}`)));
    });
    try {
      await during();
    } finally {
      // Packets still in libpcap's buffer when the capture is interrupted are lost (measured: a ping
      // sent just before SIGINT never reached the file); dumpcap hands buffers over within its
      // 250 ms timeout, so wait a second before stopping it.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    const { stdout } = await run(['tshark', '-r', file, ...(displayFilter ? ['-Y', displayFilter] : []), '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])]);
    return stdout
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => line.split('\t'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ATTRIBUTE = /(\w+)="([^"]*)"/g;

function attributes(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(ATTRIBUTE)].map((m) => [m[1]!, m[2]!]));
}

/** The packets of tshark's PDML output (one element per line), with the fields of `protocol`. */
export function parsePdml(pdml: string, protocol: string): DissectedPacket[] {
  return pdml
    .split('<packet>')
    .slice(1)
    .map((text) => {
      const lines = text.split('\n');
      const field = (name: string) => attributes(lines.find((l) => l.includes(`<field name="${name}"`)) ?? '');
      const proto = attributes(lines.find((l) => l.includes(`<proto name="${protocol}"`)) ?? '');
      if (proto.pos === undefined) throw new Error(`tshark did not dissect a packet as ${protocol}`);
      const [seconds, fraction = ''] = (field('frame.time_epoch').show ?? '0').split('.');
      const fields = new Map<string, DissectedField>();
      let inside = false;
      for (const line of lines) {
        if (line.includes(`<proto name="${protocol}"`)) inside = true;
        else if (line.includes('</proto>')) inside = false;
        else if (inside && line.trimStart().startsWith('<field ')) {
          const a = attributes(line);
          if (a.name && !fields.has(a.name) && a.unmaskedvalue === undefined) fields.set(a.name, { pos: Number(a.pos), size: Number(a.size), show: a.show ?? '', value: a.value ?? '' });
        }
      }
      return {
        frameTimeNs: BigInt(seconds!) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9)),
        srcPort: Number(field('udp.srcport').show),
        dstPort: Number(field('udp.dstport').show),
        protocolPos: Number(proto.pos),
        protocolSize: Number(proto.size),
        fields,
      };
    });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Wireshark's display of an absolute time ("Aug  2, 2023 21:20:00.500000000 UTC") as Unix ns. */
export function wiresharkTimeNs(show: string): bigint {
  const m = /^(\w{3}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{9}) UTC$/.exec(show);
  if (!m) throw new Error(`not a Wireshark UTC time: "${show}"`);
  const ms = Date.UTC(Number(m[3]), MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]));
  return BigInt(ms) * 1_000_000n + BigInt(m[7]!);
}
