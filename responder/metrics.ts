import { Counter, Gauge, type Registry } from 'prom-client';
import { registerProcessMetrics } from '../lib/metrics/process-metrics.js';
import { LINKMON_VERSION } from '../lib/version.js';

export const HTTP_ENDPOINTS = ['download', 'upload', 'latency', 'healthz', 'metrics', 'other'] as const;
export type HttpEndpoint = (typeof HTTP_ENDPOINTS)[number];
export const TEST_ENDPOINTS = ['download', 'upload'] as const;
export type TestEndpoint = (typeof TEST_ENDPOINTS)[number];

/** Requests refused with an error status (HTTP) or datagrams dropped (UDP). */
export const HTTP_REJECTION_REASONS = ['unauthorized', 'bad_request', 'not_found', 'method_not_allowed', 'too_large', 'too_long', 'busy'] as const;
export type HttpRejectionReason = (typeof HTTP_REJECTION_REASONS)[number];
/**
 * Connections refused or closed before a request could be served (endpoint "connection"): over the
 * per-source or total limit, evicted for a newer one, parser errors (400 malformed, 431, 413),
 * header deadline passed (408 timeout), TLS handshake failed.
 */
export const CONNECTION_REJECTION_REASONS = ['per_source_limit', 'connection_limit', 'evicted', 'malformed', 'headers_too_large', 'too_large', 'timeout', 'tls'] as const;
export type ConnectionRejectionReason = (typeof CONNECTION_REJECTION_REASONS)[number];
export const UDP_REJECTION_REASONS = ['rate_limited', 'malformed', 'loop_guard'] as const;
export type UdpRejectionReason = (typeof UDP_REJECTION_REASONS)[number];

/** Why an admitted test ended before its response completed. */
export const ABORT_REASONS = ['disconnected', 'stalled', 'time_cap'] as const;
export type AbortReason = (typeof ABORT_REASONS)[number];

/** The responder's own metrics, on an injected registry; docs/metrics.md (section Responder) lists them. */
export class ResponderMetrics {
  readonly requests: Counter<'endpoint'>;
  readonly rejections: Counter<'endpoint' | 'reason'>;
  readonly testsStarted: Counter<'endpoint'>;
  readonly testsActive: Gauge<'endpoint'>;
  readonly testsAborted: Counter<'endpoint' | 'reason'>;
  readonly testBytes: Counter<'direction'>;
  readonly tcpConnections: Counter<string>;
  readonly udpReflected: Counter<string>;
  readonly udpSenders: Gauge<string>;
  readonly udpSendersEvicted: Counter<string>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    new Gauge({ name: 'linkmon_responder_build_info', help: 'Always 1; labels carry the linkmon version and Node.js version.', labelNames: ['version', 'nodejs_version'], registers }).set(
      { version: LINKMON_VERSION, nodejs_version: process.version },
      1,
    );
    this.requests = new Counter({ name: 'linkmon_responder_requests_total', help: 'HTTP(S) requests received, by endpoint.', labelNames: ['endpoint'], registers });
    this.rejections = new Counter({ name: 'linkmon_responder_rejections_total', help: 'Requests refused with an error status (HTTP) or datagrams dropped (UDP), by endpoint and reason.', labelNames: ['endpoint', 'reason'], registers });
    this.testsStarted = new Counter({ name: 'linkmon_responder_tests_total', help: 'Throughput-test requests admitted (holding or sharing a test slot), by endpoint.', labelNames: ['endpoint'], registers });
    this.testsActive = new Gauge({ name: 'linkmon_responder_tests_active', help: 'Throughput-test requests running now, by endpoint.', labelNames: ['endpoint'], registers });
    this.testsAborted = new Counter({ name: 'linkmon_responder_tests_aborted_total', help: 'Admitted throughput tests that ended early: client disconnected, stalled, or hit the time cap.', labelNames: ['endpoint', 'reason'], registers });
    this.testBytes = new Counter({ name: 'linkmon_responder_test_bytes_total', help: 'Payload bytes of throughput tests: dc_to_site sent by /download, site_to_dc received by /upload.', labelNames: ['direction'], registers });
    this.tcpConnections = new Counter({ name: 'linkmon_responder_tcp_connections_total', help: 'Connections accepted (and closed) by the TCP connect-probe listener.', registers });
    this.udpReflected = new Counter({ name: 'linkmon_responder_udp_reflected_total', help: 'STAMP (and TWAMP-Light) test packets reflected.', registers });
    this.udpSenders = new Gauge({ name: 'linkmon_responder_udp_senders', help: 'Session states the STAMP reflector holds now, one per sender address and port (bounded by udp.max_senders).', registers });
    this.udpSendersEvicted = new Counter({ name: 'linkmon_responder_udp_senders_evicted_total', help: 'Per-sender states dropped because udp.max_senders was reached (least recently used first).', registers });

    for (const endpoint of HTTP_ENDPOINTS) {
      this.requests.inc({ endpoint }, 0);
      for (const reason of HTTP_REJECTION_REASONS) this.rejections.inc({ endpoint, reason }, 0);
    }
    for (const reason of CONNECTION_REJECTION_REASONS) this.rejections.inc({ endpoint: 'connection', reason }, 0);
    for (const reason of UDP_REJECTION_REASONS) this.rejections.inc({ endpoint: 'udp', reason }, 0);
    for (const endpoint of TEST_ENDPOINTS) {
      this.testsStarted.inc({ endpoint }, 0);
      this.testsActive.set({ endpoint }, 0);
      for (const reason of ABORT_REASONS) this.testsAborted.inc({ endpoint, reason }, 0);
    }
    for (const direction of ['site_to_dc', 'dc_to_site']) this.testBytes.inc({ direction }, 0);
    registerProcessMetrics(registry);
  }
}
