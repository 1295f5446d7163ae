import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { decodeReply, encodeRequest, type ProbeReply } from '../../lib/udp-packet.js';
import { JitterEstimator } from '../stats/jitter.js';
import { describeError, reasonFromError } from './reasons.js';
import { failure, type ProbeResult } from './types.js';
import { DirectionalLoss, type DirectionTally } from './udp-loss.js';

export type Direction = 'site_to_dc' | 'dc_to_site';
export const DIRECTIONS: readonly Direction[] = ['site_to_dc', 'dc_to_site'];

/** What a session reports, beyond each probe's own result; the prober turns these into metrics. */
export interface UdpSessionEvents {
  settled(tally: DirectionTally): void;
  reordered(direction: Direction): void;
  duplicate(direction: Direction): void;
  jitter(direction: Direction, seconds: number): void;
}

export interface UdpSessionOptions {
  host: string;
  port: number;
  packetBytes: number;
  events: UdpSessionEvents;
}

interface InFlight {
  txNs: bigint;
  resolve: (result: ProbeResult) => void;
  timer: NodeJS.Timeout;
}

/** Recent answered sequences remembered for duplicate detection. */
const DUPLICATE_WINDOW = 4096;

/**
 * One target's stream of probe packets: a connected UDP socket, a random session id, sequence
 * numbers, and the per-direction bookkeeping of docs/udp-reflector.md. One send() = one packet.
 */
export class UdpSession {
  private readonly sessionId = randomInt(0, 2 ** 32);
  private nextSeq = 0;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly loss = new DirectionalLoss(0);
  /** reflector sequences seen per answered sender sequence, oldest first. */
  private readonly seen = new Map<number, number[]>();
  private highestReflectorSeq = 0;
  private currentStateStart: number | undefined;
  private readonly jitter: Record<Direction, JitterEstimator> = { site_to_dc: new JitterEstimator(), dc_to_site: new JitterEstimator() };
  private transitBase: { forward: bigint; backward: bigint } | undefined;
  private closed = false;
  private readonly watched = new WeakSet<AbortSignal>();

  private constructor(
    private readonly socket: Socket,
    readonly options: UdpSessionOptions,
  ) {
    socket.on('message', (packet) => this.onReply(packet, process.hrtime.bigint()));
    // On a connected socket an ICMP port-unreachable surfaces here as ECONNREFUSED.
    socket.on('error', (err) => this.failInFlight(failure(reasonFromError(err), `${options.host}:${options.port}: ${describeError(err)}`)));
  }

  /** Resolves the host once and connects a socket to it; a failure is a probe result, not a throw. */
  static async open(options: UdpSessionOptions): Promise<UdpSession | ProbeResult> {
    let address: string;
    let family: number;
    try {
      ({ address, family } = await lookup(options.host));
    } catch (err) {
      return failure('dns', `resolve ${options.host}: ${describeError(err)}`);
    }
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(options.port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      return failure(reasonFromError(err), `connect ${options.host}:${options.port}: ${describeError(err)}`);
    }
    return new UdpSession(socket, options);
  }

  /** Sends one packet and resolves with its RTT, or a failure once `timeoutSeconds` has passed. */
  send(timeoutSeconds: number, signal: AbortSignal): Promise<ProbeResult> {
    if (this.closed) return Promise.resolve(failure('error', 'UDP session closed'));
    if (signal.aborted) return Promise.resolve(failure('timeout', 'probe aborted (agent stopping or reloading)'));
    const seq = this.nextSeq++;
    const txNs = process.hrtime.bigint();
    const packet = encodeRequest({ sessionId: this.sessionId, senderSeq: seq, senderTxNs: txNs }, this.options.packetBytes);
    this.watch(signal);
    return new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const settle = (result: ProbeResult) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      // The packet's own timer decides loss, whatever happens to the caller (abort on reload).
      const timer = setTimeout(() => {
        this.inFlight.delete(seq);
        this.loss.timedOut(seq);
        this.report();
        settle(failure('timeout', `no reflection from ${this.options.host}:${this.options.port} within ${timeoutSeconds}s`));
      }, timeoutSeconds * 1000);
      this.inFlight.set(seq, { txNs, resolve: settle, timer });
      this.loss.sent(seq);
      this.socket.send(packet, (err) => {
        if (err) settle(failure(reasonFromError(err), `send to ${this.options.host}:${this.options.port}: ${describeError(err)}`));
      });
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

  private onReply(packet: Buffer, rxNs: bigint): void {
    const reply = decodeReply(packet);
    if (!reply || reply.sessionId !== this.sessionId) return;
    const seq = this.toSessionSeq(reply.senderSeq);
    if (this.isDuplicate(seq, reply.reflectorSeq)) return;
    const stateStart = this.toSessionSeq(reply.stateStart);
    this.countReordering(reply, stateStart);
    const packetInFlight = this.inFlight.get(seq);
    // Late replies (after the timeout) were already counted lost; they change nothing else.
    if (!packetInFlight || !this.loss.answered(seq, { reflectorSeq: reply.reflectorSeq, stateStart })) return;
    this.inFlight.delete(seq);
    clearTimeout(packetInFlight.timer);
    this.updateJitter(reply, rxNs);
    const rttNs = rxNs - reply.senderTxNs - (reply.reflectorTxNs - reply.reflectorRxNs);
    packetInFlight.resolve({ ok: true, durationSeconds: Math.max(0, Number(rttNs)) / 1e9 });
    this.report();
  }

  /** Maps a 32-bit wire sequence to the nearest sequence this session has sent (handles wrap). */
  private toSessionSeq(wireSeq: number): number {
    const newest = this.nextSeq - 1;
    return newest - (((newest >>> 0) - wireSeq) >>> 0);
  }

  /** Same (sender, reflector) pair twice: duplicated on the way back; new reflector seq: on the way out. */
  private isDuplicate(seq: number, reflectorSeq: number): boolean {
    const known = this.seen.get(seq);
    if (known?.includes(reflectorSeq)) {
      this.options.events.duplicate('dc_to_site');
      return true;
    }
    if (known) {
      known.push(reflectorSeq);
      this.options.events.duplicate('site_to_dc');
      return true;
    }
    this.seen.set(seq, [reflectorSeq]);
    if (this.seen.size > DUPLICATE_WINDOW) this.seen.delete(this.seen.keys().next().value!);
    return false;
  }

  private countReordering(reply: ProbeReply, stateStart: number): void {
    if (reply.outOfOrder) this.options.events.reordered('site_to_dc');
    if (stateStart !== this.currentStateStart) {
      this.currentStateStart = stateStart;
      this.highestReflectorSeq = 0;
    }
    if (reply.reflectorSeq < this.highestReflectorSeq) this.options.events.reordered('dc_to_site');
    else this.highestReflectorSeq = reply.reflectorSeq;
  }

  /** One-way transit times carry an unknown clock offset; the estimator only uses their differences. */
  private updateJitter(reply: ProbeReply, rxNs: bigint): void {
    const forward = reply.reflectorRxNs - reply.senderTxNs;
    const backward = rxNs - reply.reflectorTxNs;
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

  private report(): void {
    const tally = this.loss.settle();
    if (tally.sentSiteToDc > 0) this.options.events.settled(tally);
  }

  private failInFlight(result: ProbeResult): void {
    for (const packet of this.inFlight.values()) packet.resolve(result);
  }
}
