import { Counter, Gauge, type Registry } from 'prom-client';
import { familyChoice } from '../../config/network-fields.js';
import type { TargetConfig } from '../../config/schema.js';
import { AttemptDeadline, DEADLINE_PASSED } from '../deadline.js';
import { systemResolver, type NameResolver } from '../resolver.js';
import { socketOptionsOf } from '../socket-options.js';
import { failure, type KindMetrics, type ModuleOf, type ProbeContext, type ProbeResult, type Prober, type TargetLabels } from '../types.js';
import type { ReflectorMode } from './loss.js';
import { DIRECTIONS, UdpSession, type Direction, type UdpSessionEvents } from './session.js';
import type { UdpTransport } from './socket.js';

/** linkmon_udp_reflector_stateful: what the reflector's sequence numbers can tell. */
const STATEFUL_VALUE: Record<ReflectorMode, number> = { stateful: 1, stateless: 0, unknown: -1 };

/** linkmon_udp_* metrics (docs/metrics.md): per target, most of them per direction. */
class UdpMetrics implements KindMetrics {
  readonly sent: Counter<string>;
  readonly lost: Counter<string>;
  readonly lostUnattributed: Counter<string>;
  readonly jitter: Gauge<string>;
  readonly reordered: Counter<string>;
  readonly duplicates: Counter<string>;
  readonly stateful: Gauge<string>;

  constructor(registry: Registry, perTargetLabelNames: readonly string[]) {
    const labelNames = [...perTargetLabelNames, 'direction'];
    const registers = [registry];
    this.sent = new Counter({ name: 'linkmon_udp_packets_sent_total', help: 'STAMP probe packets sent in each direction (site_to_dc: by the agent; dc_to_site: reflections, as far as the reflector numbers tell), counted when settled.', labelNames, registers });
    this.lost = new Counter({ name: 'linkmon_udp_packets_lost_total', help: 'STAMP probe packets lost in each direction, counted when settled (after the timeout and the next reflection).', labelNames, registers });
    this.lostUnattributed = new Counter({ name: 'linkmon_udp_packets_lost_unattributed_total', help: 'STAMP probe packets lost in a direction the reflector numbers cannot tell (a stateless reflector, or a reset of its state).', labelNames: [...perTargetLabelNames], registers });
    this.jitter = new Gauge({ name: 'linkmon_udp_jitter_seconds', help: 'RFC 3550 smoothed jitter of the one-way transit time in each direction (no clock sync needed).', labelNames, registers });
    this.reordered = new Counter({ name: 'linkmon_udp_reordered_total', help: 'STAMP probe packets that arrived out of order, by direction.', labelNames, registers });
    this.duplicates = new Counter({ name: 'linkmon_udp_duplicates_total', help: 'Duplicated STAMP probe packets, by direction.', labelNames, registers });
    this.stateful = new Gauge({ name: 'linkmon_udp_reflector_stateful', help: 'Whether the target is a stateful STAMP reflector (1: loss split by direction), stateless (0: round trip only) or not known yet (-1).', labelNames: [...perTargetLabelNames], registers });
  }

  addTarget(labels: TargetLabels): void {
    for (const direction of DIRECTIONS) {
      const series = { ...labels, direction };
      for (const counter of [this.sent, this.lost, this.reordered, this.duplicates]) counter.inc(series, 0);
      this.jitter.set(series, 0);
    }
    this.lostUnattributed.inc(labels, 0);
    this.stateful.set(labels, STATEFUL_VALUE.unknown);
  }

  removeTarget(labels: TargetLabels): void {
    for (const direction of DIRECTIONS) {
      for (const metric of [this.sent, this.lost, this.jitter, this.reordered, this.duplicates]) metric.remove({ ...labels, direction });
    }
    this.lostUnattributed.remove(labels);
    this.stateful.remove(labels);
  }

  eventsFor(labels: TargetLabels): UdpSessionEvents {
    const at = (direction: Direction) => ({ ...labels, direction });
    return {
      settled: (tally) => {
        this.sent.inc(at('site_to_dc'), tally.sentSiteToDc);
        this.sent.inc(at('dc_to_site'), tally.sentDcToSite);
        this.lost.inc(at('site_to_dc'), tally.lostSiteToDc);
        this.lost.inc(at('dc_to_site'), tally.lostDcToSite);
        if (tally.lostUnattributed > 0) this.lostUnattributed.inc(labels, tally.lostUnattributed);
      },
      reordered: (direction, count) => this.reordered.inc(at(direction), count),
      duplicate: (direction) => this.duplicates.inc(at(direction)),
      jitter: (direction, seconds) => this.jitter.set(at(direction), seconds),
      reflectorMode: (mode) => this.stateful.set(labels, STATEFUL_VALUE[mode]),
    };
  }
}

interface SessionEntry {
  key: string;
  opening: Promise<UdpSession | ProbeResult>;
  /** Set once open. */
  session?: UdpSession;
  labels: TargetLabels;
}

/** What a target's session was opened with; a reload that changes any of it opens a new session. */
function sessionKey(target: TargetConfig, module: ModuleOf<'udp'>): string {
  return JSON.stringify([target.host, target.port ?? module.port, module.packet_bytes, familyChoice(module), socketOptionsOf(module)]);
}

const NO_METRICS: UdpSessionEvents = { settled: () => {}, reordered: () => {}, duplicate: () => {}, jitter: () => {}, reflectorMode: () => {} };

/**
 * The UDP prober, a STAMP Session-Sender (RFC 8762, docs/stamp.md): one probe() sends one packet
 * to the target's reflector and returns its RTT (reflector processing time excluded); per-direction
 * loss, jitter, reordering and duplicates go to linkmon_udp_* through the session's events. One
 * session (socket) per target.
 */
export function createUdpProber(options: { resolver?: NameResolver; transport?: UdpTransport } = {}): Prober<'udp'> & { sessionCount(): number } {
  const resolver = options.resolver ?? systemResolver;
  const sessions = new Map<string, SessionEntry>();
  let metrics: UdpMetrics | undefined;

  const closeSession = (name: string) => {
    const entry = sessions.get(name);
    sessions.delete(name);
    void entry?.opening.then((session) => session instanceof UdpSession && session.close());
  };

  /** The target's session entry for its current settings (a reload that changed them closes the old one). */
  const currentEntry = (ctx: ProbeContext<'udp'>): SessionEntry | undefined => {
    const entry = sessions.get(ctx.target.name);
    if (entry && entry.key !== sessionKey(ctx.target, ctx.module)) {
      closeSession(ctx.target.name);
      return undefined;
    }
    return entry;
  };

  const open = (ctx: ProbeContext<'udp'>, deadline: AttemptDeadline): SessionEntry => {
    const events = metrics?.eventsFor(ctx.labels) ?? NO_METRICS;
    // Opening (name resolution included) is part of the attempt that needs it and obeys its deadline.
    const opening = UdpSession.open(
      {
        host: ctx.target.host ?? '',
        port: ctx.target.port ?? ctx.module.port,
        packetBytes: ctx.module.packet_bytes,
        events,
        resolver,
        family: familyChoice(ctx.module),
        socketOptions: socketOptionsOf(ctx.module),
        ...(options.transport ? { transport: options.transport } : {}),
      },
      deadline,
    );
    const entry: SessionEntry = { key: sessionKey(ctx.target, ctx.module), opening, labels: ctx.labels };
    sessions.set(ctx.target.name, entry);
    const name = ctx.target.name;
    void opening.then((session) => {
      if (session instanceof UdpSession) entry.session = session;
      // A failed open (DNS) is retried at the next probe.
      else if (sessions.get(name) === entry) sessions.delete(name);
    });
    return entry;
  };

  /** Until the session is open: attempts wait for it inside their own deadlines. */
  const openThenSend = async (ctx: ProbeContext<'udp'>, entry: SessionEntry | undefined): Promise<ProbeResult> => {
    const deadline = new AttemptDeadline(ctx.module.timeout, ctx.signal);
    try {
      const session = await deadline.within((entry ?? open(ctx, deadline)).opening);
      if (session === DEADLINE_PASSED) return failure('dns', `resolve ${ctx.target.host ?? ''}: no answer from the resolver within ${ctx.module.timeout}s`);
      if (!(session instanceof UdpSession)) return session;
      return await session.send(deadline.remainingSeconds(), ctx.signal);
    } finally {
      deadline.clear();
    }
  };

  return {
    probe(ctx) {
      const entry = currentEntry(ctx);
      // Every packet but the first: the session's own per-packet timer is the deadline.
      if (entry?.session) return entry.session.send(ctx.module.timeout, ctx.signal);
      return openThenSend(ctx, entry);
    },
    createMetrics(registry, perTargetLabelNames) {
      metrics = new UdpMetrics(registry, perTargetLabelNames);
      // Sessions report to the metrics they were opened with; new metrics need new sessions.
      for (const name of [...sessions.keys()]) closeSession(name);
      const created = metrics;
      return {
        addTarget: (labels) => created.addTarget(labels),
        removeTarget: (labels) => {
          created.removeTarget(labels);
          for (const [name, entry] of sessions) if (entry.labels.target === labels.target) closeSession(name);
        },
      };
    },
    async stop() {
      for (const name of [...sessions.keys()]) closeSession(name);
    },
    sessionCount: () => sessions.size,
  };
}

export const udpProber = createUdpProber();
