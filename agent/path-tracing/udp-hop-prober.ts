import { describeError, errorCode } from '../../lib/error-code.js';
import { timerMs } from '../../lib/units.js';
import type { NativeAddon } from '../probes/native/addon.js';

import { ProbeSendError, type HopProber, type ProbeAnswer } from './trace.js';

type IpVersion = 4 | 6;

/** Payload of every probe: "LKTR" and the probe's id, which the ICMP error quotes back. */
const MAGIC = 0x4c4b5452;
const PAYLOAD_BYTES = 8;

/** ICMP (type, code) of the answers, per address family (RFC 792, RFC 4443). */
const ICMP = {
  4: { timeExceeded: 11, unreachable: 3, portUnreachable: 3 },
  6: { timeExceeded: 3, unreachable: 1, portUnreachable: 4 },
} as const;

interface InFlight {
  sentNs: bigint;
  answer?: ProbeAnswer;
  /** Called when the probe's round may have finished. */
  check: () => void;
}

/**
 * TTL-limited UDP probes through the native addon's unprivileged socket (ttl_probe.c): one socket,
 * so one source port, and one destination port per target, so every probe of a trace takes the
 * same path through routers that spread flows over equal-cost links (as Paris traceroute does).
 */
export class UdpHopProber {
  private readonly handle: object;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  private closed = false;
  /** Rounds waiting for answers: close() ends them at once with what they have. */
  private readonly rounds = new Set<() => void>();

  /** Throws (with `code`) when the socket cannot be opened. */
  constructor(
    private readonly addon: NativeAddon,
    private readonly version: IpVersion,
    private readonly address: string,
    private readonly port: number,
  ) {
    this.handle = addon.ttlProbe.open(version, (payload, from, origin, type, code, receivedNs) => this.onMessage(payload, from, origin, type, code, receivedNs));
  }

  readonly probeHop: HopProber = (ttl, probes, timeoutSeconds) =>
    new Promise((resolve, reject) => {
      if (this.closed) return reject(new ProbeSendError('error', 'TTL probe socket closed'));
      const ids: number[] = [];
      // Called only once `timer` below exists: by check() at the end, by answers, by close().
      const finish = () => {
        clearTimeout(timer);
        this.rounds.delete(finish);
        const answers = ids.map((id) => this.inFlight.get(id)?.answer);
        for (const id of ids) this.inFlight.delete(id);
        resolve(answers);
      };
      const check = () => {
        if (ids.every((id) => this.inFlight.get(id)?.answer !== undefined)) finish();
      };
      try {
        for (let i = 0; i < probes; i++) {
          const id = this.nextId++ >>> 0;
          const payload = Buffer.alloc(PAYLOAD_BYTES);
          payload.writeUInt32BE(MAGIC, 0);
          payload.writeUInt32BE(id, 4);
          ids.push(id);
          const entry: InFlight = { sentNs: 0n, check };
          this.inFlight.set(id, entry);
          entry.sentNs = this.addon.ttlProbe.send(this.handle, this.address, this.port, ttl, payload);
        }
      } catch (err) {
        for (const id of ids) this.inFlight.delete(id);
        const code = errorCode(err);
        const reason = code === 'ENETUNREACH' || code === 'EHOSTUNREACH' ? 'unreachable' : 'network';
        reject(new ProbeSendError(reason, `send to ${this.address}:${this.port}: ${describeError(err)}`));
        return;
      }
      const timer = setTimeout(finish, timerMs(timeoutSeconds));
      this.rounds.add(finish);
      check();
    });

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const finish of [...this.rounds]) finish();
    this.addon.ttlProbe.close(this.handle);
  }

  private onMessage(payload: Buffer, from: string, origin: 'icmp' | 'local' | 'reply', type: number, code: number, receivedNs: bigint): void {
    const entry = origin === 'reply' ? this.oldestUnanswered() : this.probeQuoted(payload);
    if (!entry || entry.answer) return;
    const kind = this.kindOf(origin, type, code);
    if (!kind) return;
    entry.answer = { from, kind, rttSeconds: Number(receivedNs - entry.sentNs) / 1e9 };
    entry.check();
  }

  /** The probe an ICMP error quotes: its payload is ours, with the probe's id. */
  private probeQuoted(payload: Buffer): InFlight | undefined {
    if (payload.length < PAYLOAD_BYTES || payload.readUInt32BE(0) !== MAGIC) return undefined;
    return this.inFlight.get(payload.readUInt32BE(4));
  }

  /** A UDP reply quotes nothing: it answers the oldest probe still waiting. */
  private oldestUnanswered(): InFlight | undefined {
    for (const entry of this.inFlight.values()) if (!entry.answer) return entry;
    return undefined;
  }

  private kindOf(origin: 'icmp' | 'local' | 'reply', type: number, code: number): ProbeAnswer['kind'] | undefined {
    if (origin === 'reply') return 'reached';
    if (origin !== 'icmp') return undefined;
    const icmp = ICMP[this.version];
    if (type === icmp.timeExceeded) return 'time_exceeded';
    if (type === icmp.unreachable) return code === icmp.portUnreachable ? 'reached' : 'unreachable';
    return undefined;
  }
}
