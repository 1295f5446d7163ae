/**
 * What the stream of STAMP reflections says beyond each round trip (docs/stamp.md): whether the
 * reflector is stateful or stateless, and which reflections are duplicates or arrived out of order,
 * in which direction. Pure: fed one decoded reflection at a time, in the order they arrive.
 */
import { seqDistance, type ReflectorMode } from './loss.js';

export type Direction = 'site_to_dc' | 'dc_to_site';

/** Probe k of a session carries sequence number 0, 2, 3, 4, ...: number 1 is never sent (see reflectorMode). */
export function wireSeq(k: number): number {
  return (k === 0 ? 0 : k + 1) >>> 0;
}

/** The probe whose sequence number is `wire`, nearest below the newest probe sent; undefined for number 1 (never sent). */
export function probeIndex(wire: number, newestK: number): number | undefined {
  const newest = newestK === 0 ? 0 : newestK + 1;
  const candidate = newest - ((newest - wire) >>> 0);
  if (candidate < 0 || candidate === 1) return undefined;
  return candidate === 0 ? 0 : candidate - 1;
}

export interface Reflection {
  /** Our probe index. */
  k: number;
  /** The reflector's sequence number. */
  reflectorSeq: number;
  /** T2 and T3 on the reflector's clock (Unix ns). */
  receiveNs: bigint;
  transmitNs: bigint;
}

export interface ReflectionVerdict {
  /** A copy of a reflection already seen: in which direction the network duplicated it. */
  duplicate?: Direction;
  /** Reflections found out of order by this one, per direction (this one or earlier ones). */
  reordered: Record<Direction, number>;
}

/** Duplicate detection remembers this many recent probes. */
const DUPLICATE_WINDOW = 4096;
/** Reordering on the way out is judged among this many recent reflections. */
const REORDER_WINDOW = 256;

interface Seen {
  k: number;
  reflectorSeq: number;
  receiveNs: bigint;
  transmitNs: bigint;
  reorderedOnTheWayOut: boolean;
}

export class ReplyAnalysis {
  private currentMode: ReflectorMode = 'unknown';
  private readonly seen = new Map<number, { reflectorSeq: number; receiveNs: bigint }[]>();
  private readonly recent: Seen[] = [];
  private highest: { reflectorSeq: number; transmitNs: bigint } | undefined;

  get mode(): ReflectorMode {
    return this.currentMode;
  }

  /**
   * A stateless reflector copies our sequence number; a stateful one counts what it received from
   * 0, and since number 1 is never sent, its count falls behind ours from probe 1 on. Any
   * reflection whose number is not ours proves a stateful reflector; one for probe k >= 1 that
   * carries our number shows a stateless one (until proven otherwise).
   */
  observe(reflection: Reflection): ReflectionVerdict {
    this.updateMode(reflection);
    const verdict: ReflectionVerdict = { reordered: { site_to_dc: 0, dc_to_site: 0 } };
    const duplicate = this.duplicateDirection(reflection);
    if (duplicate) return { ...verdict, duplicate };
    if (this.arrivedAfterALaterReflection(reflection)) verdict.reordered.dc_to_site = 1;
    verdict.reordered.site_to_dc = this.reorderedOnTheWayOut(reflection);
    return verdict;
  }

  private updateMode({ k, reflectorSeq }: Reflection): void {
    if (reflectorSeq !== wireSeq(k)) this.currentMode = 'stateful';
    else if (k >= 1 && this.currentMode === 'unknown') this.currentMode = 'stateless';
  }

  /**
   * The same reflection twice (same reflector number and receive time) was duplicated on the way
   * back; a second, different reflection of one probe means the reflector received it twice.
   */
  private duplicateDirection({ k, reflectorSeq, receiveNs }: Reflection): Direction | undefined {
    const known = this.seen.get(k);
    if (known?.some((r) => r.reflectorSeq === reflectorSeq && r.receiveNs === receiveNs)) return 'dc_to_site';
    if (known) {
      known.push({ reflectorSeq, receiveNs });
      return 'site_to_dc';
    }
    this.seen.set(k, [{ reflectorSeq, receiveNs }]);
    if (this.seen.size > DUPLICATE_WINDOW) this.seen.delete(this.seen.keys().next().value!);
    return undefined;
  }

  /** On the way back: sent by the reflector before one that has already arrived (RFC 4737). */
  private arrivedAfterALaterReflection({ reflectorSeq, transmitNs }: Reflection): boolean {
    const highest = this.highest;
    const later = highest !== undefined && (this.currentMode === 'stateful' ? seqDistance(reflectorSeq, highest.reflectorSeq) > 0 : highest.transmitNs > transmitNs);
    if (!later) this.highest = { reflectorSeq, transmitNs };
    return later;
  }

  /**
   * On the way out, in the order the reflector received our packets (its number when stateful, its
   * receive time otherwise): a probe is reordered when one sent after it arrived before it. The
   * reflection that shows it may be either one of the pair, so earlier reflections are re-judged.
   */
  private reorderedOnTheWayOut(reflection: Reflection): number {
    const current: Seen = { ...reflection, reorderedOnTheWayOut: false };
    const receivedBefore = (a: Seen, b: Seen) => (this.currentMode === 'stateful' ? seqDistance(a.reflectorSeq, b.reflectorSeq) > 0 : a.receiveNs < b.receiveNs);
    let found = 0;
    for (const other of this.recent) {
      if (receivedBefore(other, current) && other.k > current.k && !current.reorderedOnTheWayOut) {
        current.reorderedOnTheWayOut = true;
        found += 1;
      } else if (receivedBefore(current, other) && other.k < current.k && !other.reorderedOnTheWayOut) {
        other.reorderedOnTheWayOut = true;
        found += 1;
      }
    }
    this.recent.push(current);
    if (this.recent.length > REORDER_WINDOW) this.recent.shift();
    return found;
  }
}
