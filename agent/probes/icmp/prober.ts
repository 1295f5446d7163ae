import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Gauge, type Registry } from 'prom-client';
import { describeError } from '../../../lib/error-code.js';
import { timerMs } from '../../../lib/units.js';
import { addressBytes, buildEchoRequest, failureForError, parseEchoAnswer, parseQueuedError, type EchoAnswer, type IpVersion } from './packet.js';
import { openIcmpSocket } from './open-socket.js';
import type { IcmpSocket, IcmpTransport } from './socket.js';
import { AttemptDeadline } from '../deadline.js';
import { reasonFromError } from '../reasons.js';
import { familyChoice } from '../../config/network-fields.js';
import { systemResolver, type NameResolver, type ResolvedAddress } from '../resolver.js';
import { socketOptionsOf, type ProbeSocketOptions } from '../socket-options.js';
import { resolveTarget } from '../target-address.js';
import { failure, type KindMetrics, type ProbeContext, type ProbeFailure, type ProbeResult, type Prober, type ProberAvailability } from '../types.js';

const IP_VERSIONS: readonly IpVersion[] = [4, 6];
const SEQUENCES = 0x10000;

interface PendingEcho {
  address: string;
  destination: Buffer;
  sentAt: bigint;
  timeoutSeconds: number;
  /** performance.now() after which the echo counts as lost. */
  deadline: number;
  settle: (result: ProbeResult) => void;
}

/** A sweep this close to a deadline settles it rather than sleeping again for under a millisecond. */
const DEADLINE_SLACK_MS = 1;
/** Parsed addresses kept per channel; a bound, since resolved addresses of DNS targets may change. */
const MAX_CACHED_ADDRESSES = 4096;

/** One socket of an address family, shared by every target and every echo in flight. */
class EchoChannel {
  /**
   * A raw socket's is random, so that two agents (or two probers in one process) on a host do not
   * take each other's replies; a ping socket's is the one the kernel writes into every request.
   */
  readonly identifier: number;
  private readonly pending = new Map<number, PendingEcho>();
  /** One abort listener per signal, not per echo: the scheduler shares one signal among all attempts. */
  private readonly abortable = new WeakMap<AbortSignal, Set<PendingEcho>>();
  private nextSequence = randomInt(0, SEQUENCES);
  private readonly socket: IcmpSocket;
  /** Only an IPv4 raw socket hands back the IP header. */
  private readonly withIpHeader: boolean;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepAt = Number.POSITIVE_INFINITY;
  /** addressBytes() by text: parsing an address (split, regular expressions) was ~5% of the agent's CPU per echo. */
  private readonly addresses = new Map<string, Buffer | undefined>();

  constructor(
    readonly version: IpVersion,
    transport: IcmpTransport,
    options: ProbeSocketOptions,
  ) {
    this.socket = openIcmpSocket(
      version,
      {
        onPacket: (packet, source, receivedAt) => this.onPacket(packet, source, receivedAt),
        onError: (type, code, destination, request, offender) => this.onQueuedError(type, code, destination, request, offender),
      },
      transport,
      options,
    );
    this.identifier = this.socket.identifier ?? randomInt(0, 0x10000);
    this.withIpHeader = version === 4 && this.socket.type === 'raw';
  }

  get timestamps(): IcmpSocket['timestamps'] {
    return this.socket.timestamps;
  }

  get socketType(): IcmpSocket['type'] {
    return this.socket.type;
  }

  /** What opened this socket, to open another of the same kind. */
  get transport(): IcmpTransport {
    return this.socket.timestamps === 'event-loop' ? 'raw-socket' : this.socket.type;
  }

  echo(address: string, payloadBytes: number, timeoutSeconds: number, signal: AbortSignal): Promise<ProbeResult> {
    const destination = this.bytesOf(address);
    if (!destination) return Promise.resolve(failure('error', `not an IPv${this.version} address: ${address}`));
    const sequence = this.freeSequence();
    if (sequence === undefined) return Promise.resolve(failure('busy', `${SEQUENCES} echoes already in flight`));
    const packet = buildEchoRequest(this.version, this.identifier, sequence, payloadBytes);

    return new Promise<ProbeResult>((resolve) => {
      const settle = (result: ProbeResult) => {
        if (this.pending.get(sequence) !== echo) return;
        this.pending.delete(sequence);
        this.abortable.get(signal)?.delete(echo);
        resolve(result);
      };
      const deadline = performance.now() + timerMs(timeoutSeconds);
      const echo: PendingEcho = { address, destination, sentAt: 0n, timeoutSeconds, deadline, settle };
      this.settleOnAbort(signal, echo);
      this.pending.set(sequence, echo);
      this.sweepBy(deadline);
      try {
        echo.sentAt = this.socket.send(packet, address);
      } catch (err) {
        settle(failure('network', `send echo request to ${address}: ${describeError(err)}`));
      }
    });
  }

  close(): void {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.socket.close();
    for (const echo of [...this.pending.values()]) echo.settle(failure('error', 'ICMP prober stopped'));
  }

  /**
   * Timeouts use one timer per channel, armed for the earliest deadline, instead of one per echo:
   * almost every echo is answered long before its timeout, and a cleared Node timer still wakes the
   * event loop when it would have expired, so per-echo timers cost about one extra wake-up per echo.
   */
  private sweepBy(deadline: number): void {
    if (this.sweepTimer !== undefined && this.sweepAt <= deadline) return;
    clearTimeout(this.sweepTimer);
    this.sweepAt = deadline;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(0, deadline - performance.now()));
  }

  private sweep(): void {
    this.sweepTimer = undefined;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const echo of this.pending.values()) {
      if (echo.deadline <= now + DEADLINE_SLACK_MS) echo.settle(timedOut(echo));
      else next = Math.min(next, echo.deadline);
    }
    if (next !== Number.POSITIVE_INFINITY) this.sweepBy(next);
  }

  private settleOnAbort(signal: AbortSignal, echo: PendingEcho): void {
    let echoes = this.abortable.get(signal);
    if (!echoes) {
      const waiting = (echoes = new Set());
      this.abortable.set(signal, waiting);
      signal.addEventListener('abort', () => {
        for (const e of [...waiting]) e.settle(failure('error', 'aborted: the agent is stopping or reloading'));
      }, { once: true });
    }
    echoes.add(echo);
  }

  /** The returned Buffer is shared: read it, never write to it. */
  private bytesOf(address: string): Buffer | undefined {
    let bytes = this.addresses.get(address);
    if (bytes === undefined && !this.addresses.has(address)) {
      if (this.addresses.size >= MAX_CACHED_ADDRESSES) this.addresses.clear();
      bytes = addressBytes(address);
      this.addresses.set(address, bytes);
    }
    return bytes;
  }

  private freeSequence(): number | undefined {
    for (let tries = 0; tries < SEQUENCES; tries++) {
      const sequence = this.nextSequence;
      this.nextSequence = (this.nextSequence + 1) % SEQUENCES;
      if (!this.pending.has(sequence)) return sequence;
    }
    return undefined;
  }

  private onPacket(packet: Buffer, source: string, receivedAt: bigint): void {
    this.onAnswer(parseEchoAnswer(this.version, packet, this.withIpHeader), source, receivedAt);
  }

  /** A ping socket's ICMP error: the kernel already matched it to this socket's identifier. */
  private onQueuedError(type: number, code: number, destination: string, request: Buffer, offender: string): void {
    const destinationBytes = this.bytesOf(destination);
    if (destinationBytes) this.onAnswer(parseQueuedError(this.version, type, code, destinationBytes, request), offender, 0n);
  }

  private onAnswer(answer: EchoAnswer | undefined, source: string, receivedAt: bigint): void {
    if (!answer || answer.identifier !== this.identifier) return;
    const echo = this.pending.get(answer.sequence);
    if (!echo) return; // late (already timed out) or not ours
    if (answer.kind === 'reply') {
      const from = answer.source ?? this.bytesOf(source);
      if (!from?.equals(echo.destination)) return;
      const durationSeconds = Number(receivedAt - echo.sentAt) / 1e9;
      // The sweep may run late when the event loop is busy; a reply after the timeout is still a loss.
      echo.settle(durationSeconds <= echo.timeoutSeconds ? { ok: true, durationSeconds } : timedOut(echo));
      return;
    }
    if (!answer.destination.equals(echo.destination)) return;
    const meaning = failureForError(this.version, answer.type, answer.code);
    if (meaning) echo.settle(failure(meaning.reason, `${meaning.what} from ${source} for echo to ${echo.address}`));
  }
}

function timedOut(echo: PendingEcho): ProbeResult {
  return failure('timeout', `no echo reply from ${echo.address} within ${echo.timeoutSeconds}s`);
}

/**
 * ICMP echo prober: one echo request per probe() call, sent on a socket per address family that
 * start() opens and all targets share: raw where the process may open one, else an unprivileged
 * ping socket (socket.ts). The round-trip time runs on the monotonic clock at nanosecond
 * resolution from just before sendto() to the kernel's receive timestamp of the reply (the
 * raw-socket fallback stamps when the event loop sees the reply). net-ping is not used: it stamps
 * `new Date()` (1 ms), sends only after a writable poll and has no ping sockets on Linux.
 */
export class IcmpProber implements Prober<'icmp'> {
  /** `transport` is for tests and benches; the agent uses 'auto'. */
  constructor(
    private readonly transport: IcmpTransport = 'auto',
    private readonly resolver: NameResolver = systemResolver,
  ) {}

  /** The socket of each family that start() opened, without module options: what the prober can use. */
  private readonly defaults = new Map<IpVersion, EchoChannel>();
  /** Sockets of modules with a source address, interface or DSCP, opened at first use, by channelKey(). */
  private readonly withOptions = new Map<string, EchoChannel>();
  /** Why the socket of a family could not be opened (raw-socket's strerror text). */
  private readonly openErrors = new Map<IpVersion, string>();
  private started = false;

  async start(): Promise<ProberAvailability> {
    if (!this.started) {
      this.started = true;
      for (const version of IP_VERSIONS) {
        try {
          this.defaults.set(version, new EchoChannel(version, this.transport, {}));
        } catch (err) {
          this.openErrors.set(version, describeError(err));
        }
      }
    }
    if (this.defaults.size > 0) return { available: true, facts: this.facts() };
    const errors = [...this.openErrors].map(([version, error]) => `IPv${version}: ${error}`).join('; ');
    return { available: false, why: `cannot open ICMP sockets (${errors})${privilegeHint()}` };
  }

  /** Where receive times come from once started: 'kernel' (SO_TIMESTAMPNS) or 'event-loop' (raw-socket fallback). */
  timestampSource(): IcmpSocket['timestamps'] | undefined {
    return [...this.defaults.values()][0]?.timestamps;
  }

  /** Which socket and timestamps each address family uses, for the start-up log and linkmon_icmp_socket_info. */
  sockets(): { ipVersion: IpVersion; socket: IcmpSocket['type']; timestamps: IcmpSocket['timestamps'] }[] {
    return [...this.defaults.values()].map((c) => ({ ipVersion: c.version, socket: c.socketType, timestamps: c.timestamps }));
  }

  private facts(): Record<string, string> {
    const facts: Record<string, string> = { timestamps: this.timestampSource() ?? 'unknown' };
    for (const { ipVersion, socket } of this.sockets()) facts[`ipv${ipVersion}_socket`] = socket;
    for (const [version, error] of this.openErrors) facts[`ipv${version}_socket`] = `unavailable: ${error}`;
    return facts;
  }

  createMetrics(registry: Registry): KindMetrics {
    const sockets = () => this.sockets();
    new Gauge({
      name: 'linkmon_icmp_socket_info',
      help: 'Always 1: the ICMP socket of each address family (socket: raw with CAP_NET_RAW, ping without) and where receive times come from.',
      labelNames: ['ip_version', 'socket', 'timestamps'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { ipVersion, socket, timestamps } of sockets()) this.set({ ip_version: String(ipVersion), socket, timestamps }, 1);
      },
    });
    return { addTarget: () => {}, removeTarget: () => {} };
  }

  async stop(): Promise<void> {
    for (const channel of [...this.defaults.values(), ...this.withOptions.values()]) channel.close();
    this.defaults.clear();
    this.withOptions.clear();
    this.openErrors.clear();
    this.started = false;
  }

  /** Not async: an address target (the usual case) goes straight to the channel, without promise hops. */
  probe = ({ target, module, signal }: ProbeContext<'icmp'>): Promise<ProbeResult> => {
    const host = target.host ?? '';
    const literal = isIP(host);
    if (literal === 4 || literal === 6) return this.echoTo({ address: host, family: literal }, module, signal);
    return this.probeByName(host, module, signal);
  };

  /** Name resolution is part of the attempt: the echo gets what is left of the timeout. */
  private async probeByName(host: string, module: IcmpModule, signal: AbortSignal): Promise<ProbeResult> {
    const deadline = new AttemptDeadline(module.timeout, signal);
    try {
      const resolved = await resolveTarget(this.resolver, host, familyChoice(module), deadline);
      if ('reason' in resolved) return resolved;
      return await this.echoTo(resolved, module, signal, deadline.remainingSeconds());
    } finally {
      deadline.clear();
    }
  }

  private echoTo(to: ResolvedAddress, module: IcmpModule, signal: AbortSignal, timeoutSeconds = module.timeout): Promise<ProbeResult> {
    const channel = this.channelFor(to.family, module);
    if (!(channel instanceof EchoChannel)) return Promise.resolve({ ...channel, ipProtocol: to.family });
    if (signal.aborted) return Promise.resolve(failure('error', 'aborted: the agent is stopping or reloading'));
    return channel.echo(to.address, module.payload_bytes, timeoutSeconds, signal).then((result) => ({ ...result, ipProtocol: to.family }));
  }

  /**
   * The family's socket, or for a module with a source address, interface or DSCP its own socket
   * of the same type, opened at first use (one per distinct setting: their number is bounded by
   * the config). Opening it again at the next attempt after a failure picks up an address or
   * interface that appears later.
   */
  private channelFor(version: IpVersion, module: IcmpModule): EchoChannel | ProbeFailure {
    const standard = this.defaults.get(version);
    if (!standard) {
      const error = this.openErrors.get(version);
      return failure('error', error ? `no ICMP socket for IPv${version} (${error})${privilegeHint()}` : 'the ICMP prober is not started');
    }
    const options = socketOptionsOf(module);
    if (options.source === undefined && options.device === undefined && options.dscp === undefined) return standard;
    const key = `${version} ${JSON.stringify(options)}`;
    let channel = this.withOptions.get(key);
    if (!channel) {
      try {
        channel = new EchoChannel(version, standard.transport, options);
      } catch (err) {
        return failure(reasonFromError(err), `open an ICMP socket with ${describeOptions(options)}: ${describeError(err)}`);
      }
      this.withOptions.set(key, channel);
    }
    return channel;
  }
}

type IcmpModule = ProbeContext<'icmp'>['module'];

/** For details: "source 198.18.1.3, interface wan, DSCP 46". */
function describeOptions(options: ProbeSocketOptions): string {
  const parts = [options.source && `source ${options.source}`, options.device && `interface ${options.device}`, options.dscp !== undefined && `DSCP ${options.dscp}`];
  return parts.filter(Boolean).join(', ');
}

/**
 * Why opening failed is usually privilege: a raw socket needs CAP_NET_RAW, a ping socket a group
 * in this network namespace's net.ipv4.ping_group_range. Say which, when /proc confirms it.
 */
function privilegeHint(): string {
  const CAP_NET_RAW = 13n;
  const hints: string[] = [];
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (effective !== undefined && ((BigInt(`0x${effective}`) >> CAP_NET_RAW) & 1n) === 0n) {
      hints.push('the process lacks CAP_NET_RAW for raw sockets (systemd AmbientCapabilities=CAP_NET_RAW or docker --cap-add NET_RAW)');
    }
    const range = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim().split(/\s+/).map(Number);
    const groups = (/^Groups:\s*(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    const gid = Number(/^Gid:\s*\d+\s+(\d+)/m.exec(status)?.[1]);
    const allowed = (g: number) => range.length === 2 && g >= range[0]! && g <= range[1]!;
    if (![gid, ...groups].some(allowed)) {
      hints.push(`no group of the process (gid ${gid}) is in net.ipv4.ping_group_range (${range.join(' ')}) for ping sockets (sysctl -w net.ipv4.ping_group_range="${gid} ${gid}")`);
    }
  } catch {
    // not Linux, or /proc not mounted
  }
  return hints.length > 0 ? `: ${hints.join('; and ')}` : '';
}

export const icmpProber = new IcmpProber();
