import type { Registry } from 'prom-client';
import type { IntervalKind, ModuleKind } from '../../lib/kinds.js';
import type { ModuleConfig, TargetConfig } from '../config/schema.js';

/**
 * Why a probe attempt failed. A closed list so it can be a metric label; derived from error
 * codes (ECONNREFUSED, UND_ERR_*), never from message text.
 */
export const FAILURE_REASONS = [
  'timeout',
  'refused',
  'unreachable',
  'dns',
  'reset',
  'tls',
  'http_status',
  'body_mismatch',
  'dns_rcode',
  'answer_mismatch',
  /** The target answered, but not with what the protocol expects (e.g. a UDP reflector sending garbage). */
  'invalid_reply',
  /** The HTTP body passed the module's body_size_limit; the probe stopped reading there. */
  'body_too_large',
  'busy',
  'network',
  'error',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export const HTTP_PHASES = ['resolve', 'connect', 'tls', 'processing', 'transfer'] as const;
export type HttpPhase = (typeof HTTP_PHASES)[number];

export interface HttpDetails {
  statusCode: number;
  phaseSeconds: Record<HttpPhase, number>;
  /** Unix seconds at which the server's leaf certificate expires (HTTPS only). */
  certExpirySeconds?: number;
}

export interface ProbeSuccess {
  ok: true;
  /** The address family the attempt used, once its target address was known (linkmon_probe_ip_protocol). */
  ipProtocol?: 4 | 6;
  /** RTT for ICMP, connect time for TCP, whole request for HTTP. */
  durationSeconds: number;
  http?: HttpDetails;
}

export interface ProbeFailure {
  ok: false;
  ipProtocol?: 4 | 6;
  reason: FailureReason;
  /** Human-readable detail for logs and the status page; never a metric label. */
  detail: string;
  http?: HttpDetails;
}

export type ProbeResult = ProbeSuccess | ProbeFailure;

export type ModuleOf<K extends ModuleKind> = Extract<ModuleConfig, { kind: K }>;
/** A module the interval scheduler runs (every kind but throughput, see lib/kinds.ts). */
export type IntervalModule = ModuleOf<IntervalKind>;

/** Label values of one target's series: target, kind and the target's static labels. */
export type TargetLabels = Record<string, string>;

export interface ProbeContext<K extends IntervalKind> {
  target: TargetConfig;
  module: ModuleOf<K>;
  labels: TargetLabels;
  /** Aborted on shutdown or reload; a prober must give up promptly. */
  signal: AbortSignal;
}

/** `facts` say how an available prober works (e.g. ICMP's timestamp source), for the start-up log. */
export type ProberAvailability = { available: true; facts?: Record<string, string> } | { available: false; why: string };

/**
 * Metrics a prober keeps beyond the generic per-target ones (e.g. UDP per-direction loss). Created
 * on the agent's registry; the prober updates them itself from probe() using ctx.labels.
 */
export interface KindMetrics {
  addTarget(labels: TargetLabels): void;
  removeTarget(labels: TargetLabels): void;
}

/** A prober is a probe function plus, where it holds a socket, the lifecycle of that socket. */
export interface Prober<K extends IntervalKind> {
  probe(ctx: ProbeContext<K>): Promise<ProbeResult>;
  /** Opens shared resources. Must not throw: lack of permission is reported as unavailable. */
  start?(): Promise<ProberAvailability>;
  stop?(): Promise<void>;
  /** Creates this kind's own metrics; called once per registry with the per-target label names. */
  createMetrics?(registry: Registry, perTargetLabelNames: readonly string[]): KindMetrics;
}

export function failure(reason: FailureReason, detail: string, extra: Partial<ProbeFailure> = {}): ProbeFailure {
  return { ok: false, reason, detail, ...extra };
}
