import { isIP } from 'node:net';
import { z } from 'zod';
import { bitRate, byteSize, duration } from '../../lib/units.js';
import { logLevelSchema } from '../../lib/log.js';
import { MODULE_KINDS, type ModuleKind } from '../../lib/kinds.js';
import { LINK_TERM_DEFAULTS } from '../../lib/link-terms.js';
import { isValidSenderSize, STAMP_BASE_BYTES, STAMP_MAX_PACKET_BYTES, STAMP_MIN_PADDED_BYTES } from '../../lib/stamp/packet.js';
import { listenAddress } from '../../web/listen.js';
import { DEFAULT_MAX_CONCURRENT_SCRAPES } from '../http/scrape-load.js';
import { encodeName, parseRecordType, RCODES } from '../probes/dns/wire.js';
import { networkFields, networkSettingsProblem, targetFamilyProblem } from './network-fields.js';
import { nodeCron } from '../throughput/cron.js';

/** Label values and names that reach Prometheus come only from config, and must be safe there. */
const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;
const LABEL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Label names the agent sets itself; a target may not override them. */
export const RESERVED_LABELS = ['site', 'target', 'kind', 'module', 'reason', 'phase', 'direction', 'le', 'class', 'section', 'hop', 'address', 'job', 'instance'];

const labelValue = (what: string) =>
  z.string().regex(LABEL_VALUE, `expected ${what}: 1-63 letters, digits, "_", ".", ":" or "-", starting with a letter or digit`);

const hostName = z
  .string()
  .min(1, 'expected a host name or IP address')
  .refine((h) => isIP(h) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h), {
    message: 'expected a host name or IP address',
  });

const port = z.number().int().min(1, 'expected a port from 1 to 65535').max(65535, 'expected a port from 1 to 65535');

const commonModuleFields = {
  interval: duration({ min: 0.1, max: 3600 }).default(15),
  timeout: duration({ min: 0.001, max: 300 }).default(5),
};

export const icmpModuleSchema = z.strictObject({
  kind: z.literal('icmp'),
  ...commonModuleFields,
  interval: duration({ min: 0.1, max: 3600 }).default(10),
  timeout: duration({ min: 0.001, max: 60 }).default(2),
  /** Echo requests per interval, spread evenly across it. */
  packets: z.number().int().min(1).max(1000).default(10),
  payload_bytes: z.number().int().min(0).max(1472).default(56),
  ...networkFields,
  ip_version: z.never({ error: 'replaced by preferred_ip_protocol ("ip4" or "ip6") and ip_protocol_fallback (false: only that family)' }).optional(),
});

export const tcpModuleSchema = z.strictObject({
  kind: z.literal('tcp'),
  ...commonModuleFields,
  timeout: duration({ min: 0.001, max: 60 }).default(3),
  /** Used when the target does not give its own port. */
  port: port.optional(),
  ...networkFields,
});

/** 1 MiB by default; at most 64 MiB, since the kept body is held in memory during the attempt. */
export const HTTP_DEFAULT_BODY_SIZE_LIMIT = 1 << 20;
const HTTP_MAX_BODY_SIZE_LIMIT = 64 << 20;

export const httpModuleSchema = z.strictObject({
  kind: z.literal('http'),
  ...commonModuleFields,
  interval: duration({ min: 0.1, max: 3600 }).default(30),
  timeout: duration({ min: 0.001, max: 300 }).default(10),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  /** Acceptable status codes; any 2xx when empty. */
  expect_status: z.array(z.number().int().min(100).max(599)).default([]),
  /** A regular expression the body must match. */
  expect_body: z
    .string()
    .refine((re) => isValidRegex(re), { message: 'expected a valid regular expression' })
    .optional(),
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * blackbox_exporter's name. The probe reads at most this much of the body (kept in memory for
   * expect_body) and fails with reason body_too_large beyond it, so an endless body costs no more
   * than a normal one.
   */
  body_size_limit: byteSize({ min: 1, max: HTTP_MAX_BODY_SIZE_LIMIT }).default(HTTP_DEFAULT_BODY_SIZE_LIMIT),
  tls: z
    .strictObject({
      ca_file: z.string().min(1).optional(),
      server_name: z.string().min(1).optional(),
      insecure_skip_verify: z.boolean().default(false),
    })
    .default({ insecure_skip_verify: false }),
  ...networkFields,
});

/** Upload/download tests against the linkmon responder (target url = responder base URL), run on a cron schedule. */
export const throughputModuleSchema = z
  .strictObject({
    kind: z.literal('throughput'),
    /** node-cron expression, 5 fields ("m h dom mon dow") or 6 with leading seconds. */
    schedule: z.string().superRefine((expression, ctx) => {
      const problem = cronProblem(expression);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /** IANA time zone the schedule is read in; the agent's local time when absent. */
    timezone: z
      .string()
      .superRefine((zone, ctx) => {
        if (!isValidTimeZone(zone)) ctx.addIssue({ code: 'custom', message: `expected an IANA time zone such as "Europe/London" or "UTC", got "${zone}"` });
      })
      .optional(),
    /** Each site starts at a deterministic offset within this window after the cron tick (hash of the site id). */
    spread: duration({ min: 0, max: 86400 }).default(600),
    /** download = dc_to_site, upload = site_to_dc; run one after the other in this order. */
    directions: z
      .array(z.enum(['download', 'upload'], { error: 'expected "download" (dc_to_site) or "upload" (site_to_dc)' }))
      .min(1, 'expected at least one of download, upload')
      .refine((list) => new Set(list).size === list.length, { message: 'expected each direction at most once' })
      .default(['download', 'upload']),
    /** Payload per direction (all streams together); give this or duration, not both. */
    bytes: byteSize({ min: 1 }).optional(),
    /** Transfer time per direction, warm-up included; 10s when neither bytes nor duration is given. */
    duration: duration({ min: 0.1, max: 3600 }).optional(),
    streams: z.number().int().min(1, 'expected 1 to 64 streams').max(64, 'expected 1 to 64 streams').default(1),
    /** The first part of each transfer (TCP slow start) is transferred but excluded from the rate. */
    warmup: duration({ min: 0, max: 600 }).default(1),
    /** Hard caps per direction: the transfer stops there and the rate is taken over what was measured. */
    max_bytes: byteSize({ min: 1 }).default(2_000_000_000),
    max_duration: duration({ min: 0.1, max: 3600 }).default(60),
    /** No progress (connect, response headers, or a body chunk either way) for this long fails the test. */
    timeout: duration({ min: 0.001, max: 300 }).default(10),
    /** Retries after the responder answers 429 (honouring Retry-After) before the test is skipped as busy. */
    busy_retries: z.number().int().min(0).max(10).default(2),
    /** Bearer token for the responder, read at each test; a secret, never logged. */
    token_file: z.string().min(1).optional(),
    token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
    tls: httpModuleSchema.shape.tls,
    ...networkFields,
  })
  .superRefine((module, ctx) => {
    const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
    if (module.bytes !== undefined && module.duration !== undefined) issue('bytes', 'give either bytes or duration, not both');
    if (module.bytes !== undefined && module.bytes > module.max_bytes) issue('bytes', `expected at most max_bytes (${module.max_bytes}), got ${module.bytes}`);
    const seconds = module.bytes === undefined ? (module.duration ?? DEFAULT_THROUGHPUT_SECONDS) : undefined;
    if (seconds !== undefined && seconds > module.max_duration) issue('duration', `expected at most max_duration (${module.max_duration}s), got ${seconds}s`);
    if (seconds !== undefined && module.warmup >= seconds) issue('warmup', `expected less than duration (${seconds}s), got ${module.warmup}s`);
    if (module.warmup >= module.max_duration) issue('warmup', `expected less than max_duration (${module.max_duration}s), got ${module.warmup}s`);
    if (module.timeout > module.max_duration) issue('timeout', `expected at most max_duration (${module.max_duration}s), got ${module.timeout}s`);
    if (module.token_file !== undefined && module.token_env !== undefined) issue('token_file', 'give either token_file or token_env, not both');
  });

/** The responder's default reflector port (responder/config.ts); a router's STAMP or TWAMP-Light reflector listens on 862. */
const RESPONDER_UDP_PORT = 9483;
/**
 * Continuous STAMP probe (RFC 8762 Session-Sender, docs/stamp.md) to the linkmon responder or any
 * STAMP or TWAMP-Light reflector: `packets` per `interval`, evenly spread, so the rate is
 * packets / interval per second (default 10/s).
 */
export const udpModuleSchema = z.strictObject({
  kind: z.literal('udp'),
  interval: duration({ min: 0.1, max: 3600 }).default(10),
  /** A packet whose reflection has not come back within this time is lost. */
  timeout: duration({ min: 0.001, max: 60 }).default(1),
  packets: z.number().int().min(1).max(100_000).default(100),
  /** UDP payload size: the 44-byte STAMP base packet, or more with an RFC 8972 Extra Padding TLV (4-byte header). */
  packet_bytes: z
    .number()
    .int()
    .refine(isValidSenderSize, {
      message: `expected ${STAMP_BASE_BYTES} (the STAMP base packet) or ${STAMP_MIN_PADDED_BYTES} to ${STAMP_MAX_PACKET_BYTES} (base packet, 4-byte padding TLV header, padding)`,
    })
    .default(STAMP_BASE_BYTES),
  /** Used when the target does not give its own port. */
  port: port.default(RESPONDER_UDP_PORT),
  ...networkFields,
});
/** Above this a UDP probe is load, not a probe. */
export const UDP_MAX_PACKETS_PER_SECOND = 1000;

const regularExpressions = z.array(z.string().refine((re) => isValidRegex(re), { message: 'expected a valid regular expression' })).default([]);
/** blackbox_exporter's RR validation of one section (semantics: agent/probes/dns/validate.ts). */
const dnsRecordValidationSchema = z
  .strictObject({
    fail_if_matches_regexp: regularExpressions,
    fail_if_not_matches_regexp: regularExpressions,
    fail_if_all_match_regexp: regularExpressions,
    fail_if_none_matches_regexp: regularExpressions,
  })
  .prefault({});
export type DnsRecordValidation = z.output<typeof dnsRecordValidationSchema>;

/**
 * One DNS query per attempt to the resolver or server at the target's host (and port), as
 * blackbox_exporter's `dns` prober with its field names: UDP, retried over TCP when the answer is
 * truncated, or TCP throughout; the response code must be one of `valid_rcodes` and each section's
 * records pass their validation.
 */
export const dnsModuleSchema = z.strictObject({
  kind: z.literal('dns'),
  interval: duration({ min: 0.1, max: 3600 }).default(30),
  /** For the whole attempt: resolving the server's name, the query, and a TCP retry after truncation. */
  timeout: duration({ min: 0.001, max: 60 }).default(5),
  query_name: z.string().superRefine((name, ctx) => {
    const problem = domainNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  query_type: z
    .string()
    .superRefine((type, ctx) => {
      if (parseRecordType(type) === undefined) ctx.addIssue({ code: 'custom', message: `expected a record type such as A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT, CAA, ANY or TYPE<number>, got "${type}"` });
    })
    .default('A'),
  query_class: z.enum(['IN', 'CH', 'HS', 'ANY'], { error: 'expected a class: IN, CH, HS or ANY' }).default('IN'),
  transport_protocol: z.enum(['udp', 'tcp'], { error: 'expected "udp" (retried over TCP when truncated) or "tcp"' }).default('udp'),
  recursion_desired: z.boolean().default(true),
  valid_rcodes: z
    .array(z.enum(RCODES, { error: `expected a response code: ${RCODES.join(', ')}` }))
    .min(1, 'expected at least one response code')
    .default(['NOERROR']),
  validate_answer_rrs: dnsRecordValidationSchema,
  validate_authority_rrs: dnsRecordValidationSchema,
  validate_additional_rrs: dnsRecordValidationSchema,
  /** Used when the target does not give its own port. */
  port: port.default(53),
  ...networkFields,
});

/** Transfer time per direction when a throughput module gives neither bytes nor duration. */
export const DEFAULT_THROUGHPUT_SECONDS = 10;

export const moduleSchema = z.discriminatedUnion('kind', [icmpModuleSchema, tcpModuleSchema, httpModuleSchema, throughputModuleSchema, udpModuleSchema, dnsModuleSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? `expected kind to be one of: ${MODULE_KINDS.join(', ')}` : undefined),
});

export type ModuleConfig = z.output<typeof moduleSchema>;
/** The schema's kinds are exactly lib/kinds.ts's: a kind added to one and not the other fails to compile. */
export const SCHEMA_KINDS_MATCH: [ModuleConfig['kind'], ModuleKind] extends [ModuleKind, ModuleConfig['kind']] ? true : never = true;

export const targetSchema = z.strictObject({
  name: labelValue('a target name'),
  module: z.string().min(1, 'expected the name of a module'),
  host: hostName.optional(),
  port: port.optional(),
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
  labels: z
    .record(z.string().regex(LABEL_NAME, 'expected a label name: lower-case letters, digits and "_"'), labelValue('a label value'))
    .default({}),
});
export type TargetConfig = z.output<typeof targetSchema>;

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');
const secretFile = z.string().min(1, 'expected a file path');

/** An interface of an SNMP device, chosen by exactly one of if_name, if_alias or if_index. */
export const snmpInterfaceSchema = z
  .strictObject({
    /** The `interface` label value; defaults to if_name. */
    name: labelValue('an interface name').optional(),
    if_name: z.string().min(1, 'expected an ifName').optional(),
    if_alias: z.string().min(1, 'expected an ifAlias').optional(),
    if_index: z.number().int().min(1, 'expected an ifIndex from 1 to 2147483647').max(2147483647, 'expected an ifIndex from 1 to 2147483647').optional(),
  })
  .superRefine((entry, ctx) => {
    const selectors = (['if_name', 'if_alias', 'if_index'] as const).filter((key) => entry[key] !== undefined);
    if (selectors.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: `expected exactly one of if_name, if_alias, if_index${selectors.length > 1 ? `, got ${selectors.join(' and ')}` : ''}` });
    }
    if (entry.name === undefined && selectors.length === 1) {
      if (entry.if_name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: `required when the interface is chosen by ${selectors[0]}` });
      else if (!LABEL_VALUE.test(entry.if_name)) {
        ctx.addIssue({ code: 'custom', path: ['name'], message: `required: if_name "${entry.if_name}" is not a usable label value (1-63 letters, digits, "_", ".", ":" or "-")` });
      }
    }
  })
  .transform(({ name, if_name, if_alias, if_index }) => ({
    name: name ?? if_name ?? '',
    selector:
      if_name !== undefined
        ? ({ by: 'if_name', value: if_name } as const)
        : if_alias !== undefined
          ? ({ by: 'if_alias', value: if_alias } as const)
          : ({ by: 'if_index', value: if_index ?? 0 } as const),
  }));
export type SnmpInterfaceConfig = z.output<typeof snmpInterfaceSchema>;

/** SNMPv3 is authPriv only. Passwords come from a file or an environment variable, never from this file. */
export const snmpV3Schema = z
  .strictObject({
    user: z.string().min(1, 'expected a USM user name').max(32, 'expected a USM user name of at most 32 characters'),
    auth_protocol: z.enum(['sha', 'sha224', 'sha256', 'sha384', 'sha512'], { error: 'expected sha, sha224, sha256, sha384 or sha512' }).default('sha'),
    auth_password_file: secretFile.optional(),
    auth_password_env: envVarName.optional(),
    priv_protocol: z.enum(['aes', 'aes256b', 'aes256r'], { error: 'expected aes (AES-128), aes256b or aes256r' }).default('aes'),
    priv_password_file: secretFile.optional(),
    priv_password_env: envVarName.optional(),
  })
  .superRefine((v3, ctx) => {
    for (const secret of ['auth_password', 'priv_password'] as const) {
      const given = [v3[`${secret}_file`], v3[`${secret}_env`]].filter((v) => v !== undefined).length;
      if (given !== 1) ctx.addIssue({ code: 'custom', path: [`${secret}_file`], message: `expected exactly one of ${secret}_file, ${secret}_env` });
    }
  });

export const snmpDeviceSchema = z
  .strictObject({
    name: labelValue('a device name'),
    address: hostName,
    port: port.default(161),
    version: z.enum(['v2c', 'v3'], { error: 'expected version "v2c" or "v3"' }),
    community_file: secretFile.optional(),
    community_env: envVarName.optional(),
    v3: snmpV3Schema.optional(),
    /** Per request; with retries, bounds how long a dead device holds a poll. */
    timeout: duration({ min: 0.05, max: 30 }).default(2),
    retries: z.number().int().min(0, 'expected 0 to 5 retries').max(5, 'expected 0 to 5 retries').default(1),
    interval: duration({ min: 1, max: 3600 }).default(10),
    interfaces: z.array(snmpInterfaceSchema).min(1, 'expected at least one interface'),
  })
  .superRefine((device, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const communities = [device.community_file, device.community_env].filter((v) => v !== undefined).length;
    if (device.version === 'v2c') {
      if (communities !== 1) issue(['community_file'], 'expected exactly one of community_file, community_env for version v2c');
      if (device.v3 !== undefined) issue(['v3'], 'only used with version v3');
    } else {
      if (device.v3 === undefined) issue(['v3'], 'required for version v3 (user and authPriv passwords)');
      if (communities !== 0) issue([device.community_file !== undefined ? 'community_file' : 'community_env'], 'only used with version v2c');
    }
    const worstCase = device.timeout * (device.retries + 1);
    if (worstCase > device.interval) {
      issue(['timeout'], `expected timeout × (retries + 1) no longer than the interval (${device.interval}s), got ${worstCase}s`);
    }
    const names = new Set<string>();
    device.interfaces.forEach((entry, index) => {
      if (typeof entry.name !== 'string' || entry.name === '') return; // already reported by the interface's own checks
      if (names.has(entry.name)) issue(['interfaces', index, 'name'], `duplicate interface name "${entry.name}" on device "${device.name}"`);
      names.add(entry.name);
    });
  });
export type SnmpDeviceConfig = z.output<typeof snmpDeviceSchema>;

export const snmpSectionSchema = z.strictObject({
  devices: z.array(snmpDeviceSchema).min(1, 'expected at least one device'),
});

const ratio = (what: string) => z.number().gt(0, `expected ${what} above 0`).max(1, `expected ${what} of at most 1`);

/** A link (e.g. the HSL), the interfaces that carry it and its commercial terms; exported as metrics for rules and dashboards. */
export const linkSchema = z.strictObject({
  name: labelValue('a link name'),
  /** SNMP interfaces (snmp.devices[].interfaces[].name) whose traffic is the link's traffic; summed. */
  interfaces: z
    .array(z.strictObject({ device: z.string().min(1, 'expected an SNMP device name'), interface: z.string().min(1, 'expected an interface name') }))
    .min(1, 'expected at least one interface'),
  /** Provisioned capacity, bits per second. */
  capacity: bitRate({ min: 1 }),
  step: z
    .strictObject({
      size: bitRate({ min: 1 }).default(LINK_TERM_DEFAULTS.step.size),
      one_off_cost_gbp: z.number().min(0, 'expected a cost of at least 0').default(LINK_TERM_DEFAULTS.step.one_off_cost_gbp),
      annual_cost_gbp: z.number().min(0, 'expected a cost of at least 0').default(LINK_TERM_DEFAULTS.step.annual_cost_gbp),
      lead_time: duration({ min: 0, max: 365 * 86400 }).default(LINK_TERM_DEFAULTS.step.lead_time),
    })
    .prefault({}),
  thresholds: z
    .strictObject({
      recommend: ratio('a ratio').default(LINK_TERM_DEFAULTS.thresholds.recommend),
      forecast: ratio('a ratio').default(LINK_TERM_DEFAULTS.thresholds.forecast),
      unused: ratio('a ratio').default(LINK_TERM_DEFAULTS.thresholds.unused),
    })
    .prefault({})
    .refine((t) => t.unused < t.recommend, { message: 'expected unused below recommend, or removing a step would at once recommend it again', path: ['unused'] }),
});
export type LinkConfig = z.output<typeof linkSchema>;

/**
 * Path tracing (docs/path-tracing.md), a background component: every `interval`, TTL-limited UDP
 * probes towards each listed target (by name), `probes` per hop, one hop at a time.
 */
export const pathTracingSchema = z
  .strictObject({
    interval: duration({ min: 1, max: 86400 }).default(60),
    /** How long the answers of one hop are awaited. */
    timeout: duration({ min: 0.01, max: 10 }).default(1),
    /** Hops traced at most, and so the bound on the `hop` label. */
    max_hops: z.number().int().min(1, 'expected 1 to 64 hops').max(64, 'expected 1 to 64 hops').default(16),
    probes: z.number().int().min(1, 'expected 1 to 10 probes per hop').max(10, 'expected 1 to 10 probes per hop').default(3),
    /** UDP destination port of the probes: one the target does not listen on, so it answers port-unreachable (traceroute's base port). */
    port: port.default(33434),
    targets: z.array(z.string().min(1, 'expected a target name')).min(1, 'expected at least one target name'),
  })
  .superRefine((section, ctx) => {
    if (!(section.max_hops >= 1 && section.max_hops <= 64)) return; // already reported
    const longest = Number((section.max_hops * section.timeout).toPrecision(6));
    if (longest > section.interval) {
      ctx.addIssue({ code: 'custom', path: ['interval'], message: `expected at least max_hops × timeout (${section.max_hops} × ${section.timeout}s = ${longest}s), the longest a trace can take; got ${section.interval}s` });
    }
  });
export type PathTracingConfig = z.output<typeof pathTracingSchema>;

/**
 * Bounds on what one config may ask of the agent (10,000 targets once took 3 GB and 20 s per
 * scrape). Measured with TCP targets (314 series each): 500 targets, 157,000 series: 224 MB RSS,
 * 14 MB per scrape; 1,000 targets: 316 MB, 28 MB, first scrape 2.7 s. A site has tens of targets.
 * Raise them deliberately; `linkmon validate` prints the estimate of exported series.
 */
export const AGENT_LIMIT_DEFAULTS = { max_targets: 500, max_series: 200_000 } as const;
const limitsSchema = z
  .strictObject({
    max_targets: z.number().int().min(1).max(100_000).default(AGENT_LIMIT_DEFAULTS.max_targets),
    max_series: z.number().int().min(1000).max(10_000_000).default(AGENT_LIMIT_DEFAULTS.max_series),
  })
  .default(AGENT_LIMIT_DEFAULTS);

export const agentConfigSchema = z
  .strictObject({
    site: z.strictObject({
      id: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a site id: 1-32 lower-case letters, digits, "_" or "-", starting with a letter'),
      name: z.string().min(1, 'expected a display name').max(100),
    }),
    listen: z
      .strictObject({
        address: listenAddress.default('0.0.0.0'),
        port: z.number().int().min(0).max(65535, 'expected a port from 0 to 65535').default(9470),
        /** Scrapes served at once; more get 503 (node_exporter's --web.max-requests). 0: no limit. */
        max_requests: z.number().int().min(0, 'expected 0 (no limit) or more').default(DEFAULT_MAX_CONCURRENT_SCRAPES),
      })
      .prefault({}),
    log: z.strictObject({ level: logLevelSchema.default('info') }).default({ level: 'info' }),
    modules: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a module name: lower-case letters, digits and "_"'), moduleSchema),
    targets: z.array(targetSchema).min(1, 'expected at least one target'),
    snmp: snmpSectionSchema.optional(),
    links: z.array(linkSchema).optional(),
    path_tracing: pathTracingSchema.optional(),
    limits: limitsSchema,
  })
  .superRefine((config, ctx) => {
    checkSnmpDevicesAndLinks(config, ctx);
    checkPathTracingTargets(config, ctx);
    if (config.targets.length > config.limits.max_targets) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: `${config.targets.length} targets, above limits.max_targets (${config.limits.max_targets}); raise it knowing that memory and scrape time grow with it` });
      return;
    }
    const seen = new Set<string>();
    config.targets.forEach((target, index) => {
      const at = (field: string) => ['targets', index, field];
      if (seen.has(target.name)) ctx.addIssue({ code: 'custom', path: at('name'), message: `duplicate target name "${target.name}"` });
      seen.add(target.name);
      for (const label of Object.keys(target.labels)) {
        if (RESERVED_LABELS.includes(label)) {
          ctx.addIssue({ code: 'custom', path: ['targets', index, 'labels', label], message: `"${label}" is set by linkmon itself and cannot be a target label` });
        }
      }
      const module = config.modules[target.module];
      if (!module) {
        const known = Object.keys(config.modules).join(', ') || 'none';
        ctx.addIssue({ code: 'custom', path: at('module'), message: `unknown module "${target.module}" (defined: ${known})` });
        return;
      }
      const needsUrl = module.kind === 'http' || module.kind === 'throughput';
      const an = module.kind === 'http' ? 'an' : 'a';
      if (needsUrl && !target.url) ctx.addIssue({ code: 'custom', path: at('url'), message: `required for ${an} ${module.kind} module` });
      if (needsUrl && target.host) ctx.addIssue({ code: 'custom', path: at('host'), message: `not used by ${an} ${module.kind} module: give the host in url` });
      if (!needsUrl && !target.host) ctx.addIssue({ code: 'custom', path: at('host'), message: `required for a ${module.kind} module` });
      if (!needsUrl && target.url) ctx.addIssue({ code: 'custom', path: at('url'), message: `not used by a ${module.kind} module` });
      if (module.kind === 'tcp' && target.port === undefined && module.port === undefined) {
        ctx.addIssue({ code: 'custom', path: at('port'), message: `required: module "${target.module}" has no default port` });
      }
      const familyProblem = target.host === undefined ? undefined : targetFamilyProblem(target.host, module);
      if (familyProblem) ctx.addIssue({ code: 'custom', path: at('host'), message: familyProblem });
      if (module.kind !== 'tcp' && module.kind !== 'udp' && module.kind !== 'dns' && target.port !== undefined) {
        ctx.addIssue({ code: 'custom', path: at('port'), message: `only used by tcp, udp and dns modules` });
      }
    });
    for (const [name, module] of Object.entries(config.modules)) {
      const network = networkSettingsProblem(module);
      if (network) ctx.addIssue({ code: 'custom', path: ['modules', name, network.field], message: network.message });
      if (module.kind === 'udp' && module.packets / module.interval > UDP_MAX_PACKETS_PER_SECOND) {
        ctx.addIssue({ code: 'custom', path: ['modules', name, 'packets'], message: `expected at most ${UDP_MAX_PACKETS_PER_SECOND} packets per second, got ${module.packets} per ${module.interval}s` });
      }
      if (module.kind !== 'throughput' && module.timeout > module.interval) {
        ctx.addIssue({ code: 'custom', path: ['modules', name, 'timeout'], message: `expected a timeout no longer than the interval (${module.interval}s), got ${module.timeout}s` });
      }
    }
  });

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** Device names are unique, and every link names SNMP interfaces that are configured. */
function checkSnmpDevicesAndLinks(
  config: { snmp?: z.output<typeof snmpSectionSchema>; links?: LinkConfig[] },
  ctx: z.RefinementCtx,
): void {
  const devices = new Map<string, SnmpDeviceConfig>();
  config.snmp?.devices.forEach((device, index) => {
    if (devices.has(device.name)) ctx.addIssue({ code: 'custom', path: ['snmp', 'devices', index, 'name'], message: `duplicate device name "${device.name}"` });
    devices.set(device.name, device);
  });
  const links = new Set<string>();
  // The utilisation rules join interfaces to links one-to-one.
  const carrying = new Map<string, string>();
  config.links?.forEach((link, index) => {
    if (links.has(link.name)) ctx.addIssue({ code: 'custom', path: ['links', index, 'name'], message: `duplicate link name "${link.name}"` });
    links.add(link.name);
    link.interfaces.forEach((ref, refIndex) => {
      const at = (field: string) => ['links', index, 'interfaces', refIndex, field];
      const device = devices.get(ref.device);
      if (!device) {
        const known = [...devices.keys()].join(', ') || 'none: add an snmp section';
        ctx.addIssue({ code: 'custom', path: at('device'), message: `unknown SNMP device "${ref.device}" (defined: ${known})` });
      } else if (!device.interfaces.some((entry) => entry.name === ref.interface)) {
        const known = device.interfaces.map((entry) => entry.name).join(', ');
        ctx.addIssue({ code: 'custom', path: at('interface'), message: `unknown interface "${ref.interface}" on device "${ref.device}" (defined: ${known})` });
      }
      const key = JSON.stringify([ref.device, ref.interface]);
      const other = carrying.get(key);
      if (other !== undefined && other !== link.name) {
        ctx.addIssue({ code: 'custom', path: at('interface'), message: `interface "${ref.interface}" on device "${ref.device}" already carries link "${other}": an interface carries one link` });
      }
      carrying.set(key, link.name);
    });
  });
}

/** Path tracing names configured targets, each once. */
function checkPathTracingTargets(config: { targets: TargetConfig[]; path_tracing?: PathTracingConfig }, ctx: z.RefinementCtx): void {
  const known = new Set(config.targets.map((t) => t.name));
  const seen = new Set<string>();
  config.path_tracing?.targets.forEach((name, index) => {
    const at = ['path_tracing', 'targets', index];
    if (!known.has(name)) ctx.addIssue({ code: 'custom', path: at, message: `unknown target "${name}" (defined: ${[...known].join(', ')})` });
    else if (seen.has(name)) ctx.addIssue({ code: 'custom', path: at, message: `duplicate target "${name}"` });
    seen.add(name);
  });
}

/** Why a cron expression is unusable, or undefined when node-cron accepts it. */
function cronProblem(expression: string): string | undefined {
  const expected = 'expected a cron expression of 5 fields ("minute hour day-of-month month day-of-week") or 6 with leading seconds, e.g. "0 * * * *"';
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `${expected}; got ${fields} field${fields === 1 ? '' : 's'} in "${expression}"`;
  const { valid, errors } = nodeCron().validateDetailed(expression);
  if (valid) return undefined;
  return `${expected}; in "${expression}": ${errors.map((e) => `${e.field} "${e.value ?? ''}" is invalid`).join(', ')}`;
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why `name` cannot be a query name (presentation form, "." for the root), or undefined. */
function domainNameProblem(name: string): string | undefined {
  const expected = `expected a domain name such as "caid.example.police.uk" (labels of 1-63 letters, digits, "-" or "_", at most 253 characters), got "${name}"`;
  if (name !== '.' && !/^([A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?\.?$/.test(name)) return expected;
  try {
    encodeName(name);
  } catch {
    return expected;
  }
  return undefined;
}

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
