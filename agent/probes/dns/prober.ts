import { randomInt } from 'node:crypto';
import type { Registry } from 'prom-client';
import { describeError } from '../../../lib/error-code.js';
import { familyChoice } from '../../config/network-fields.js';
import { AttemptDeadline, DEADLINE_PASSED } from '../deadline.js';
import { reasonFromError } from '../reasons.js';
import { systemResolver, type AddressFamily, type NameResolver } from '../resolver.js';
import { socketOptionsOf } from '../socket-options.js';
import { resolveTarget } from '../target-address.js';
import { failure, type ModuleOf, type ProbeContext, type ProbeResult, type Prober, type TargetLabels } from '../types.js';
import { tcpExchange, udpExchange } from './exchange.js';
import { DnsMetrics } from './metrics.js';
import { presentRecord } from './presentation.js';
import { sectionMismatch } from './validate.js';
import { decodeMessage, encodeQuery, MalformedMessageError, parseRecordType, rcodeName, RECORD_CLASSES, type DnsMessage, type Question } from './wire.js';

type DnsModule = ModuleOf<'dns'>;

interface AttemptReport {
  addressFamily(family: AddressFamily): void;
  fellBackToTcp(): void;
  answered(response: DnsMessage): void;
}

/**
 * DNS prober: one query per attempt to the server at the target's host and port, timed from
 * sending the query to the response that settles it (a TCP retry after a truncated UDP answer
 * included, name resolution of the server not). Everything, the server's name included, runs
 * inside the attempt's deadline (deadline.ts), which closes the exchange's socket when it passes.
 * A failure is a reason: `timeout`, `refused` (ICMP port unreachable or a refused TCP connection),
 * `invalid_reply` (the server answered something that is not a DNS response to the query),
 * `dns_rcode` (a response code not in valid_rcodes), `answer_mismatch` (a section's records failed
 * their validation), `dns` (the server's own name did not resolve), `reset` (TCP closed before the
 * whole response), `network`.
 */
export function createDnsProber(resolver: NameResolver = systemResolver): Prober<'dns'> {
  let metrics: DnsMetrics | undefined;

  return {
    probe: async ({ target, module, labels, signal }: ProbeContext<'dns'>) => {
      const host = target.host ?? '';
      const port = target.port ?? module.port;
      let answered: DnsMessage | undefined;
      let ipProtocol: AddressFamily | undefined;
      const report: AttemptReport = {
        addressFamily: (family) => (ipProtocol = family),
        fellBackToTcp: () => metrics?.countTcpFallback(labels),
        answered: (response) => (answered = response),
      };
      const deadline = new AttemptDeadline(module.timeout, signal);
      let result: ProbeResult;
      try {
        const outcome = await deadline.within(attempt(host, port, module, resolver, deadline, report));
        if (outcome !== DEADLINE_PASSED) result = outcome;
        else if (deadline.expired) result = failure('timeout', `no answer from ${host}:${port} for ${module.query_name} ${module.query_type} within ${module.timeout}s`);
        else result = failure('error', 'aborted: the agent is stopping or reloading');
      } catch (err) {
        result = failure(reasonFromError(err), `${host}:${port}: ${describeError(err)}`);
      } finally {
        deadline.clear();
      }
      metrics?.recordResponse(labels, answered);
      return ipProtocol === undefined ? result : { ...result, ipProtocol };
    },
    createMetrics(registry: Registry, perTargetLabelNames: readonly string[]) {
      const created = new DnsMetrics(registry, perTargetLabelNames);
      metrics = created;
      return { addTarget: (labels: TargetLabels) => created.addTarget(labels), removeTarget: (labels: TargetLabels) => created.removeTarget(labels) };
    },
  };
}

async function attempt(host: string, port: number, module: DnsModule, resolver: NameResolver, deadline: AttemptDeadline, report: AttemptReport): Promise<ProbeResult> {
  const resolved = await resolveTarget(resolver, host, familyChoice(module), deadline);
  if ('reason' in resolved) return resolved;
  const { address, family } = resolved;
  report.addressFamily(family);
  const options = socketOptionsOf(module);
  const server = `${host}:${port}`;
  const question: Question = { name: module.query_name, type: parseRecordType(module.query_type) ?? 0, class: RECORD_CLASSES[module.query_class] };
  const id = randomInt(0, 0x10000);
  const query = encodeQuery({ ...question, id, recursionDesired: module.recursion_desired });

  const sentAt = process.hrtime.bigint();
  let transport = module.transport_protocol;
  let bytes = transport === 'udp' ? await udpExchange(address, family, port, query, options, deadline) : await tcpExchange(address, family, port, query, options, deadline);
  let response = answering(bytes, id, question);
  if (transport === 'udp' && typeof response !== 'string' && response.truncated) {
    // RFC 7766: a truncated UDP answer is repeated over TCP, within the same deadline.
    transport = 'tcp';
    report.fellBackToTcp();
    bytes = await tcpExchange(address, family, port, query, options, deadline);
    response = answering(bytes, id, question);
  }
  const durationSeconds = Number(process.hrtime.bigint() - sentAt) / 1e9;
  if (bytes === 'closed') return failure('reset', `${server} closed the TCP connection before the whole response`);
  if (typeof response === 'string') return failure('invalid_reply', `${server} (${transport}) answered with ${response}`);
  report.answered(response);

  const what = `${module.query_name} ${module.query_type} at ${server}`;
  if (!(module.valid_rcodes as readonly string[]).includes(rcodeName(response.rcode))) {
    return failure('dns_rcode', `${what}: response code ${rcodeName(response.rcode)}, expected ${module.valid_rcodes.join(' or ')}`);
  }
  const sections = [
    ['answer', response.answers, module.validate_answer_rrs],
    ['authority', response.authority, module.validate_authority_rrs],
    ['additional', response.additional, module.validate_additional_rrs],
  ] as const;
  for (const [section, records, validation] of sections) {
    const mismatch = sectionMismatch(section, records.map((rr) => presentRecord(rr, response)), validation);
    if (mismatch) return failure('answer_mismatch', `${what}: ${mismatch}`);
  }
  return { ok: true, durationSeconds };
}

/** The decoded response when `bytes` answer the query `id` asked; otherwise what is wrong with them. */
function answering(bytes: Buffer | 'closed', id: number, question: Question): DnsMessage | string {
  if (bytes === 'closed') return 'a closed connection';
  let message: DnsMessage;
  try {
    message = decodeMessage(bytes);
  } catch (err) {
    if (err instanceof MalformedMessageError) return `bytes that are not a DNS message (${err.message})`;
    throw err;
  }
  if (!message.response) return 'a message that is not a response (QR bit clear)';
  if (message.id !== id) return `a response to another query (ID ${message.id}, sent ${id})`;
  // Servers may leave the question out of an error response (FORMERR, REFUSED); when present it must be ours.
  const echoed = message.questions[0];
  if (message.questions.length > 1 || (echoed && !sameQuestion(echoed, question))) {
    return `a response to another question (${echoed?.name ?? '?'} type ${echoed?.type ?? '?'})`;
  }
  return message;
}

function sameQuestion(a: Question, b: Question): boolean {
  const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();
  return a.type === b.type && a.class === b.class && fqdn(a.name) === fqdn(b.name);
}

export const dnsProber = createDnsProber();
