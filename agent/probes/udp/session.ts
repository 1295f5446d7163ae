import { describeError } from '../../../lib/error-code.js';
import { decodeReflectorPacket, encodeSenderPacket, REFLECTION_MIN_BYTES, type DecodedReflection } from '../../../lib/stamp/packet.js';
import { LINKMON_ERROR_ESTIMATE, MonotonicWallClock } from '../../../lib/stamp/timestamp.js';
import { timerMs } from '../../../lib/units.js';
import { JitterEstimator } from '../../stats/jitter.js';
import type { AttemptDeadline } from '../deadline.js';
import { reasonFromError } from '../reasons.js';
import type { FamilyChoice } from '../../config/network-fields.js';
import type { AddressFamily, NameResolver } from '../resolver.js';
import type { ProbeSocketOptions } from '../socket-options.js';
import { resolveTarget } from '../target-address.js';
import { failure, type ProbeResult } from '../types.js';
import { DirectionalLoss, type DirectionTally, type ReflectorMode } from './loss.js';
import { probeIndex, ReplyAnalysis, wireSeq, type Direction } from './replies.js';
import { openReflectorSocket, type ReflectorSocket, type UdpTransport } from './socket.js';

export const DIRECTIONS: readonly Direction[] = ['site_to_dc', 'dc_to_site'];
export type { Direction };

/** What a session reports, beyond each probe's own result; the prober turns these into metrics. */
export interface UdpSessionEvents {
  settled(tally: DirectionTally): void;
  reordered(direction: Direction, count: number): void;
  duplicate(direction: Direction): void;
  jitter(direction: Direction, seconds: number): void;
  reflectorMode(mode: ReflectorMode): void;
}

export interface UdpSessionOptions {
  host: string;
  port: number;
  packetBytes: number;
  events: UdpSessionEvents;
  resolver: NameResolver;
  /** The module's address family (preferred_ip_protocol, ip_protocol_fallback, source_ip_address). */
  family: FamilyChoice;
  /** The module's source address, interface and DSCP, on every packet of the session. */
  socketOptions: ProbeSocketOptions;
  /** For tests and benches; the agent uses 'auto' (kernel receive timestamps when the addon is built). */
  transport?: UdpTransport;
}

interface InFlight {
  txMonoNs: bigint;
  resolve: (result: ProbeResult) => void;
  timer: NodeJS.Timeout;
  /** Invalid datagrams from the reflector before this probe was sent. */
  invalidBefore: number;
}

/** Sender timestamps of recent probes, to check that a reflection answers one of ours (late ones too). */
const SENT_WINDOW = 4096;

/**
 * One target's STAMP test session (docs/stamp.md): a connected UDP socket (its 4-tuple is the
 * session), our packets numbered 0, 2, 3, ..., and the bookkeeping that turns reflections into a
 * round-trip time per probe plus loss, jitter, reordering and duplicates per direction.
 *
 * Clocks: T1 and T4 are the socket's monotonic readings (process.hrtime.bigint()), so the round
 * trip (T4 − T1) − (T3 − T2) needs only our own clock and the reflector's two readings of its own;
 * the wall-clock T1 the format requires is derived from the monotonic clock too (MonotonicWallClock).
 * T4 is the kernel's receive time of the reflection (socket.ts), so a busy agent does not inflate it.
 */
export class UdpSession {
  private nextK = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly sentWallNs = new Map<number, bigint>();
  private readonly replies = new ReplyAnalysis();
  private readonly loss = new DirectionalLoss(() => this.replies.mode);
  private readonly clock = new MonotonicWallClock();
  private readonly jitter: Record<Direction, JitterEstimator> = { site_to_dc: new JitterEstimator(), dc_to_site: new JitterEstimator() };
  private transitBase: { forward: bigint; backward: bigint } | undefined;
  private invalid = { count: 0, last: '' };
  private reportedMode: ReflectorMode = 'unknown';
  private closed = false;
  private readonly watched = new WeakSet<AbortSignal>();

  private socket!: ReflectorSocket;

  private constructor(
    readonly options: UdpSessionOptions,
    /** The session's address family (linkmon_probe_ip_protocol). */
    readonly family: AddressFamily,
  ) {}

  /**
   * Resolves the host once (within the opening attempt's deadline) and connects a socket to it; a
   * failure is a probe result, not a throw.
   */
  static async open(options: UdpSessionOptions, deadline: AttemptDeadline): Promise<UdpSession | ProbeResult> {
    const resolved = await resolveTarget(options.resolver, options.host, options.family, deadline);
    if ('reason' in resolved) return resolved;
    const session = new UdpSession(options, resolved.family);
    try {
      session.socket = await openReflectorSocket(
        resolved.address,
        resolved.family,
        options.port,
        {
          onMessage: (packet, receivedNs) => session.onReply(packet, receivedNs),
          onError: (err) => session.failInFlight(failure(reasonFromError(err), `${options.host}:${options.port}: ${describeError(err)}`)),
        },
        options.transport,
        options.socketOptions,
      );
    } catch (err) {
      return failure(reasonFromError(err), `open a socket to ${options.host}:${options.port}: ${describeError(err)}`, { ipProtocol: resolved.family });
    }
    return session;
  }

  /** Sends one packet and resolves with its RTT, or a failure once `timeoutSeconds` has passed; either says the session's family. */
  async send(timeoutSeconds: number, signal: AbortSignal): Promise<ProbeResult> {
    return { ...(await this.sendPacket(timeoutSeconds, signal)), ipProtocol: this.family };
  }

  private sendPacket(timeoutSeconds: number, signal: AbortSignal): Promise<ProbeResult> {
    if (this.closed) return Promise.resolve(failure('error', 'UDP session closed'));
    if (signal.aborted) return Promise.resolve(failure('timeout', 'probe aborted (agent stopping or reloading)'));
    this.clock.refresh();
    const k = this.nextK++;
    const txWallNs = this.clock.wallNs(process.hrtime.bigint());
    const packet = encodeSenderPacket({ seq: wireSeq(k), timestampNs: txWallNs, errorEstimate: LINKMON_ERROR_ESTIMATE }, this.options.packetBytes);
    this.sentWallNs.set(k, txWallNs);
    if (this.sentWallNs.size > SENT_WINDOW) this.sentWallNs.delete(this.sentWallNs.keys().next().value!);
    this.watch(signal);
    return new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const settle = (result: ProbeResult) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const invalidBefore = this.invalid.count;
      // The packet's own timer decides loss, whatever happens to the caller (abort on reload).
      const timer = setTimeout(() => {
        this.inFlight.delete(k);
        this.loss.timedOut(k);
        this.report();
        settle(this.timeoutResult(timeoutSeconds, invalidBefore));
      }, timerMs(timeoutSeconds));
      this.loss.sent(k);
      const inFlight: InFlight = { txMonoNs: 0n, resolve: settle, timer, invalidBefore };
      this.inFlight.set(k, inFlight);
      try {
        // The round trip starts when the packet went to the kernel, a moment after T1 was written into it.
        inFlight.txMonoNs = this.socket.send(packet);
      } catch (err) {
        settle(failure(reasonFromError(err), `send to ${this.options.host}:${this.options.port}: ${describeError(err)}`));
      }
    });
  }

  /**
   * One abort listener per signal, not per packet (the scheduler shares one signal across all
   * attempts): on abort every caller gets its answer now, while the packets' own timers still
   * settle the loss bookkeeping.
   */
  private watch(signal: AbortSignal): void {
    if (this.watched.has(signal)) return;
    this.watched.add(signal);
    signal.addEventListener('abort', () => this.failInFlight(failure('timeout', 'probe aborted (agent stopping or reloading)')), { once: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const packet of this.inFlight.values()) {
      clearTimeout(packet.timer);
      packet.resolve(failure('timeout', 'UDP session closed'));
    }
    this.inFlight.clear();
    this.socket.close();
  }

  private timeoutResult(timeoutSeconds: number, invalidBefore: number): ProbeResult {
    const where = `${this.options.host}:${this.options.port}`;
    if (this.invalid.count > invalidBefore) {
      return failure('invalid_reply', `no valid STAMP reflection from ${where} within ${timeoutSeconds}s; it answered with ${this.invalid.count - invalidBefore} invalid datagram(s), the last ${this.invalid.last}`);
    }
    return failure('timeout', `no reflection from ${where} within ${timeoutSeconds}s`);
  }

  private rejectReply(why: string): void {
    this.invalid = { count: this.invalid.count + 1, last: why };
  }

  private onReply(packet: Buffer, rxMonoNs: bigint): void {
    const reply = decodeReflectorPacket(packet);
    if (!reply) return this.rejectReply(`${packet.length} bytes long (a reflection has at least ${REFLECTION_MIN_BYTES})`);
    const k = probeIndex(reply.sender.seq, this.nextK - 1);
    const sentWall = k === undefined ? undefined : this.sentWallNs.get(k);
    // The copy of our timestamp must be ours (to the nanosecond it was rounded to on the wire).
    if (k === undefined || sentWall === undefined || !withinOneNs(reply.sender.timestampNs, sentWall)) {
      return this.rejectReply(`not a reflection of one of our packets (sequence number ${reply.sender.seq})`);
    }
    const verdict = this.replies.observe({ k, reflectorSeq: reply.seq, receiveNs: reply.receiveTimestampNs, transmitNs: reply.timestampNs });
    this.reportMode();
    if (verdict.duplicate) return this.options.events.duplicate(verdict.duplicate);
    for (const direction of DIRECTIONS) if (verdict.reordered[direction] > 0) this.options.events.reordered(direction, verdict.reordered[direction]);
    const probe = this.inFlight.get(k);
    // Late replies (after the timeout) were already counted lost; they change nothing else.
    if (!probe || !this.loss.answered(k, reply.seq)) return;
    this.inFlight.delete(k);
    clearTimeout(probe.timer);
    this.updateJitter(reply, sentWall, this.clock.wallNs(rxMonoNs));
    probe.resolve({ ok: true, durationSeconds: Number(roundTripNs(rxMonoNs - probe.txMonoNs, reply)) / 1e9});
    this.report();
  }

  /** One-way transit times carry the unknown offset between the two clocks; the estimator only uses their differences. */
  private updateJitter(reply: DecodedReflection, sentWallNs: bigint, receivedWallNs: bigint): void {
    const forward = reply.receiveTimestampNs - sentWallNs;
    const backward = receivedWallNs - reply.timestampNs;
    this.transitBase ??= { forward, backward };
    const updates: [Direction, bigint][] = [
      ['site_to_dc', forward - this.transitBase.forward],
      ['dc_to_site', backward - this.transitBase.backward],
    ];
    for (const [direction, transitNs] of updates) {
      const value = this.jitter[direction].update(Number(transitNs) / 1e9);
      if (value !== undefined) this.options.events.jitter(direction, value);
    }
  }

  private reportMode(): void {
    if (this.replies.mode === this.reportedMode) return;
    this.reportedMode = this.replies.mode;
    this.options.events.reflectorMode(this.reportedMode);
  }

  private report(): void {
    const tally = this.loss.settle();
    if (tally.sentSiteToDc > 0) this.options.events.settled(tally);
  }

  private failInFlight(result: ProbeResult): void {
    for (const packet of this.inFlight.values()) packet.resolve(result);
  }
}

function withinOneNs(a: bigint, b: bigint): boolean {
  return a - b <= 1n && b - a <= 1n;
}

/**
 * (T4 − T1) − (T3 − T2): the reflector's own processing time is taken out when its two readings
 * make sense (0 <= T3 − T2 < T4 − T1); a reflector that does not fill them in (zeros) or whose
 * clock stepped between them leaves the plain round trip.
 */
function roundTripNs(elapsedNs: bigint, reply: DecodedReflection): bigint {
  const processingNs = reply.timestampNs - reply.receiveTimestampNs;
  return processingNs >= 0n && processingNs < elapsedNs ? elapsedNs - processingNs : elapsedNs;
}
