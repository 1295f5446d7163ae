import { isIP } from 'node:net';
import { z } from 'zod';
import { duration } from './duration.js';

/** Label values and names that reach Prometheus come only from config, and must be safe there. */
const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;
const LABEL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Label names the agent sets itself; a target may not override them. */
export const RESERVED_LABELS = ['site', 'target', 'kind', 'module', 'reason', 'phase', 'direction', 'le', 'class', 'job', 'instance'];

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
  ip_version: z.union([z.literal(4), z.literal(6)]).default(4),
});

export const tcpModuleSchema = z.strictObject({
  kind: z.literal('tcp'),
  ...commonModuleFields,
  timeout: duration({ min: 0.001, max: 60 }).default(3),
  /** Used when the target does not give its own port. */
  port: port.optional(),
});

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
  tls: z
    .strictObject({
      ca_file: z.string().min(1).optional(),
      server_name: z.string().min(1).optional(),
      insecure_skip_verify: z.boolean().default(false),
    })
    .default({ insecure_skip_verify: false }),
});

export const moduleSchema = z.discriminatedUnion('kind', [icmpModuleSchema, tcpModuleSchema, httpModuleSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? 'expected kind to be one of: icmp, tcp, http' : undefined),
});

export type ModuleConfig = z.output<typeof moduleSchema>;
export type ModuleKind = ModuleConfig['kind'];
export const MODULE_KINDS = ['icmp', 'tcp', 'http'] as const satisfies readonly ModuleKind[];

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

export const logLevelSchema = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

export const agentConfigSchema = z
  .strictObject({
    site: z.strictObject({
      id: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a site id: 1-32 lower-case letters, digits, "_" or "-", starting with a letter'),
      name: z.string().min(1, 'expected a display name').max(100),
    }),
    listen: z
      .strictObject({
        address: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535, 'expected a port from 0 to 65535').default(9470),
      })
      .default({ address: '0.0.0.0', port: 9470 }),
    log: z.strictObject({ level: logLevelSchema.default('info') }).default({ level: 'info' }),
    modules: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a module name: lower-case letters, digits and "_"'), moduleSchema),
    targets: z.array(targetSchema).min(1, 'expected at least one target'),
  })
  .superRefine((config, ctx) => {
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
      const needsUrl = module.kind === 'http';
      if (needsUrl && !target.url) ctx.addIssue({ code: 'custom', path: at('url'), message: `required for a ${module.kind} module` });
      if (needsUrl && target.host) ctx.addIssue({ code: 'custom', path: at('host'), message: `not used by a ${module.kind} module: give the host in url` });
      if (!needsUrl && !target.host) ctx.addIssue({ code: 'custom', path: at('host'), message: `required for a ${module.kind} module` });
      if (!needsUrl && target.url) ctx.addIssue({ code: 'custom', path: at('url'), message: `not used by a ${module.kind} module` });
      if (module.kind === 'tcp' && target.port === undefined && module.port === undefined) {
        ctx.addIssue({ code: 'custom', path: at('port'), message: `required: module "${target.module}" has no default port` });
      }
      if (module.kind !== 'tcp' && target.port !== undefined) {
        ctx.addIssue({ code: 'custom', path: at('port'), message: `only used by tcp modules` });
      }
    });
    for (const [name, module] of Object.entries(config.modules)) {
      if (module.timeout > module.interval) {
        ctx.addIssue({ code: 'custom', path: ['modules', name, 'timeout'], message: 'expected a timeout no longer than the interval' });
      }
    }
  });

export type AgentConfig = z.output<typeof agentConfigSchema>;

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
