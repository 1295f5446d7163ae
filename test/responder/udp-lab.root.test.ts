// Lab test: needs root and the Debian packages iproute2, nftables and tshark (scripts/test-host-setup.sh).
// The real responder runs in the dc namespace, the real agent with a UDP (STAMP) probe in the site
// namespace; nftables on the wan router drops 5% of UDP in one direction only. The agent's
// per-direction lost counters must equal what the router's drop rule counted over the same window
// (exact attribution, the other direction 0) and be consistent with 5% (binomial interval).
// Then tshark captures the probes in the dc namespace and Wireshark's TWAMP-Test and OWAMP-Test
// dissectors must decode every field of both directions where and as RFC 8762 defines it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binomialInterval } from '../support/stats/binomial.js';
import { DropCounterLog, lossCountersInstant, type LossSettling } from '../lab/drop-counter-log.js';
import { createLab, type Direction, type Lab } from '../lab/lab.js';
import { parseExposition, sumSamples, type ExpositionSample } from '../support/exposition.js';
import { capture, wiresharkTimeNs, type DissectedPacket } from '../lab/tshark.js';
import { readTimestamp } from '../../lib/stamp/timestamp.js';
import { RENDER_REUSE_MS } from '../../agent/http/scrape-load.js';
import { startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';

const DROP_RATIO = 0.05;
/**
 * Issue #3 asks for the 95% interval, but that misses 1 check in 20 on a correct system by
 * construction, so what must hold is 99.9%; the 95% interval is reported in the messages.
 */
const CONFIDENCE = 0.999;
const REPORTED_CONFIDENCE = 0.95;
const PACKETS_PER_SECOND = 200;
const UDP_TIMEOUT_MS = 1000;
const PHASE_MS = 12_000;
/**
 * Enough trials for the 5% check below to mean something: at 1,000 its 99.9% interval is [29, 74]
 * lost, against 0 with no drop and [70, 132] at 10%. Not a share of the 2,400 sent on a quiet box:
 * beside stress-ng --cpu 2 a starved agent sent 1,611 in the phase, and every check of what it did
 * send held.
 */
const MIN_TRIALS = 1000;
const AGENT_PORT = 9470;

/**
 * Margins of the loss instant (lossCountersInstant). The agent decides a packet is lost on the
 * packet's own timer, one timeout after sending it, and settles in sequence order (udp-loss.ts): a
 * run of n lost packets is counted at the last one's timer, n - 1 packet spacings later (runs of
 * LONGEST_LOSS_RUN cover every loss but ~1 in 0.05^5 ≈ 3·10⁻⁷). Its event loop may also answer a
 * scrape before running a timer that is already due, by up to how long the box kept it off the
 * CPU: NODE_STALL_MS, the bound the ICMP lab test uses. The router drops a site_to_dc packet within
 * VETH_LAG_MS of the agent sending it; a dc_to_site packet is the reflector's reply, sent only when
 * the responder (a Node process on the same busy box) has read the request: NODE_STALL_MS more.
 * At 5% of 200 packets/s, 10 drops/s fall inside each edge's uncertainty (these margins, the scrape's
 * own span and the ~0.12 s cycle of router readings: ~0.5 s site_to_dc, ~0.8 s dc_to_site), so the
 * router's range, the tolerance of the exact check, is ~10 (site_to_dc) or ~18 (dc_to_site) wide.
 */
const NODE_STALL_MS = 300;
const VETH_LAG_MS = 50;
const LONGEST_LOSS_RUN = 5;

function settling(direction: Direction): LossSettling {
  return {
    timeoutMs: UDP_TIMEOUT_MS,
    settleLateMs: NODE_STALL_MS + ((LONGEST_LOSS_RUN - 1) * 1000) / PACKETS_PER_SECOND,
    routerLagMs: direction === 'site_to_dc' ? VETH_LAG_MS : VETH_LAG_MS + NODE_STALL_MS,
  };
}

/** The drop rule of a direction, as the test sets it (a direction without a rule dropped nothing). */
const dropScope = (direction: Direction) => ({ direction, protocol: 'udp' as const });

/** A scrape and the wall-clock span (Date.now() ms) in which the agent read its counters for it. */
interface TimedScrape {
  samples: ExpositionSample[];
  from: number;
  to: number;
}

describe('UDP probe through the lab: loss attributed to the right direction', () => {
  let lab: Lab;
  let dir: string;
  const processes: LinkmonProcess[] = [];
  let metricsUrl: string;
  const scrape = async () => parseExposition(await (await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) })).text());
  const timedScrape = async (): Promise<TimedScrape> => {
    const from = Date.now();
    const samples = await scrape();
    return { samples, from, to: Date.now() };
  };
  const udpCounter = (samples: ExpositionSample[], what: 'sent' | 'lost', direction: Direction) =>
    sumSamples(samples, `linkmon_udp_packets_${what}_total`, { direction });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'linkmon-udp-lab-'));
    lab = await createLab({ sites: 1 });
    const dc = lab.dcAddress();
    const responderConfig = join(dir, 'responder.yaml');
    writeFileSync(
      responderConfig,
      `listen: { address: ${dc} }\nhttp: { port: 9480 }\ntcp: { enabled: false }\nudp: { port: 9483, rate_limit: { packets_per_second: 1000, burst: 200 } }\nauth: { token_env: LAB_TOKENS }\nlog: { level: info }\n`,
    );
    const agentConfig = join(dir, 'agent.yaml');
    writeFileSync(
      agentConfig,
      [
        'site: { id: labsite, name: Lab site }',
        `listen: { address: 127.0.0.1, port: ${AGENT_PORT} }`,
        'log: { level: warn }',
        'modules:',
        `  reflector: { kind: udp, interval: 1s, packets: ${PACKETS_PER_SECOND}, timeout: ${UDP_TIMEOUT_MS}ms }`,
        'targets:',
        `  - { name: dc, module: reflector, host: ${dc}, port: 9483 }`,
        '',
      ].join('\n'),
    );
    const responder = startLinkmon(['responder', '--config', responderConfig], { netns: lab.dc, env: { LAB_TOKENS: 'lab-token-0123456789abcdef' } });
    processes.push(responder);
    await waitFor('responder listening', () => (responder.output().includes('responder listening') ? true : undefined), 30_000);
    processes.push(startLinkmon(['agent', '--config', agentConfig], { netns: lab.site() }));
    const bridge = await lab.bridge(lab.site(), AGENT_PORT, '127.0.0.1');
    metricsUrl = `http://${bridge.hostPort}/metrics`;
    await waitFor('agent reporting settled UDP packets', async () => (udpCounter(await scrape(), 'sent', 'site_to_dc') > 50 ? true : undefined), 30_000, 250);
  }, 90_000);

  afterAll(async () => {
    try {
      await Promise.allSettled(processes.map((p) => p.stop()));
      await lab?.destroy();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const direction of ['site_to_dc', 'dc_to_site'] as const) {
    const other: Direction = direction === 'site_to_dc' ? 'dc_to_site' : 'site_to_dc';

    it(`5% UDP drop ${direction}: lost ${direction} is what the router dropped (and ~5%), ${other} 0`, async () => {
      await lab.setDrop(direction, DROP_RATIO, dropScope(direction));
      // Started after the ruleset change (which restarts the counters) and stopped before the next.
      const routerLog = DropCounterLog.start(lab);
      let before: TimedScrape;
      let after: TimedScrape;
      try {
        // The window's first scrape covers drops up to a timeout plus settling margin earlier, which
        // needs a router reading before that (0.5 s for the first one); losses of an earlier phase's
        // rule have all settled by then too.
        const { timeoutMs, settleLateMs } = settling(direction);
        await sleep(timeoutMs + settleLateMs + 500);
        before = await timedScrape();
        await sleep(PHASE_MS);
        after = await timedScrape();
      } finally {
        try {
          await routerLog.stop();
        } finally {
          await lab.setDrop(direction, 0, dropScope(direction));
        }
      }

      const delta = (what: 'sent' | 'lost', d: Direction) => udpCounter(after.samples, what, d) - udpCounter(before.samples, what, d);
      /** What the router's rule for `d` dropped between the instants the two scrapes' loss counters cover. */
      const routerDropped = (d: Direction) => {
        // A scrape may serve a body rendered up to RENDER_REUSE_MS before it (agent/http/scrape-load.ts).
        const [start, end] = [before, after].map((s) => lossCountersInstant(s.from - RENDER_REUSE_MS, s.to, settling(d)));
        return routerLog.between(dropScope(d), start!, end!);
      };
      // Trials: packets that entered the impaired direction (the reflector's sends for dc_to_site).
      const trials = delta('sent', direction);
      const lost = delta('lost', direction);
      const dropped = routerDropped(direction);
      const otherDropped = routerDropped(other);
      const { low, high } = binomialInterval(trials, DROP_RATIO, CONFIDENCE);
      const reported = binomialInterval(trials, DROP_RATIO, REPORTED_CONFIDENCE);
      const context =
        `${direction}: ${lost} lost of ${trials}, router dropped ${dropped.low}..${dropped.high}; ` +
        `${CONFIDENCE * 100}% interval [${low}, ${high}], ${REPORTED_CONFIDENCE * 100}% [${reported.low}, ${reported.high}]; ` +
        `${other}: ${delta('lost', other)} lost of ${delta('sent', other)}, router dropped ${otherDropped.low}..${otherDropped.high}; ` +
        `output: ${processes.map((p) => p.output().slice(-500)).join(' | ')}`;
      expect(trials, context).toBeGreaterThanOrEqual(MIN_TRIALS);
      // The attribution itself: in each direction the agent counts exactly what the router dropped there.
      expect(lost, context).toBeGreaterThanOrEqual(dropped.low);
      expect(lost, context).toBeLessThanOrEqual(dropped.high);
      expect(otherDropped, context).toEqual({ low: 0, high: 0 });
      expect(delta('lost', other), context).toBe(0);
      // And the measured loss is consistent with the injected 5%.
      expect(lost, context).toBeGreaterThanOrEqual(low);
      expect(lost, context).toBeLessThanOrEqual(high);
    });
  }

  it("every field, both directions, decodes in Wireshark's OWAMP-Test/TWAMP-Test dissectors as RFC 8762 §4.2.1/§4.3.1 define it (tshark)", async () => {
    const PAIRS = 100;
    const captured = await capture(lab, lab.dc, 'wan', 'udp port 9483', 2 * PAIRS);
    try {
      // tshark 4.0 has no STAMP dissector: a sender packet is an OWAMP-Test packet (RFC 4656 §4.1.2,
      // which RFC 5357 §4.1.2 and RFC 8762 §4.2.1 extend with MBZ), a reflection a TWAMP-Test one.
      const requests = await captured.dissect(9483, 'owamp.test', 'udp.dstport == 9483');
      const replies = await captured.dissect(9483, 'twamp.test', 'udp.srcport == 9483');
      expect(requests.length + replies.length).toBe(2 * PAIRS);
      const layout = (packet: DissectedPacket) =>
        Object.fromEntries([...packet.fields].map(([name, f]) => [name.replace('twamp.test.', ''), [f.pos - packet.protocolPos, f.size]]));
      const timeOf = (packet: DissectedPacket, name: string) => {
        const field = packet.fields.get(`twamp.test.${name}`)!;
        const ours = readTimestamp(Buffer.from(field.value, 'hex'), 0, 'ntp');
        const wireshark = wiresharkTimeNs(field.show);
        // Wireshark and we read the same NTP bytes as the same instant (to its nanosecond display)...
        expect(wireshark - ours <= 1n && ours - wireshark <= 1n, `${name}: ${field.show} vs ${ours}`).toBe(true);
        // ...which is a time of this capture (the lab shares one clock).
        const offsetNs = packet.frameTimeNs - ours;
        expect(offsetNs > -1_000_000_000n && offsetNs < 1_000_000_000n, `${name} ${field.show} is within 1 s of the frame`).toBe(true);
        return ours;
      };
      const show = (packet: DissectedPacket, name: string) => packet.fields.get(`twamp.test.${name}`)!.show;
      const value = (packet: DissectedPacket, name: string) => packet.fields.get(`twamp.test.${name}`)!.value;

      const bySeq = new Map<number, DissectedPacket>();
      let previousSeq: number | undefined;
      for (const request of requests) {
        expect(request.protocolSize).toBe(44);
        expect(layout(request)).toEqual({ seq_number: [0, 4], timestamp: [4, 8], error_estimate: [12, 2], padding: [14, 30] });
        const seq = Number(show(request, 'seq_number'));
        if (previousSeq !== undefined) expect(seq).toBe(previousSeq + 1);
        previousSeq = seq;
        timeOf(request, 'timestamp');
        // S = 0 (no claim of synchronisation), Z = 0 (NTP), Scale 22, Multiplier 1: 2^-10 s.
        expect(value(request, 'error_estimate')).toBe('1601');
        expect(value(request, 'padding')).toBe('00'.repeat(30));
        bySeq.set(seq, request);
      }

      let previousReflectorSeq: number | undefined;
      let matched = 0;
      const lag = new Set<number>();
      for (const reply of replies) {
        expect(reply.protocolSize).toBe(44);
        expect(layout(reply)).toEqual({
          seq_number: [0, 4],
          timestamp: [4, 8],
          error_estimate: [12, 2],
          mbz1: [14, 2],
          receive_timestamp: [16, 8],
          sender_seq_number: [24, 4],
          sender_timestamp: [28, 8],
          sender_error_estimate: [36, 2],
          mbz2: [38, 2],
          sender_ttl: [40, 1],
          padding: [41, 3],
        });
        const reflectorSeq = Number(show(reply, 'seq_number'));
        if (previousReflectorSeq !== undefined) expect(reflectorSeq).toBe(previousReflectorSeq + 1);
        previousReflectorSeq = reflectorSeq;
        expect(timeOf(reply, 'receive_timestamp') <= timeOf(reply, 'timestamp')).toBe(true);
        expect([value(reply, 'error_estimate'), value(reply, 'mbz1'), value(reply, 'mbz2'), show(reply, 'sender_ttl'), value(reply, 'padding')]).toEqual(['1601', '0000', '0000', '255', '000000']);
        // The Session-Sender fields are the request's own bytes.
        const senderSeq = Number(show(reply, 'sender_seq_number'));
        const request = bySeq.get(senderSeq);
        if (request) {
          matched += 1;
          expect(value(reply, 'sender_timestamp')).toBe(value(request, 'timestamp'));
          expect(value(reply, 'sender_error_estimate')).toBe(value(request, 'error_estimate'));
          expect(request.frameTimeNs <= reply.frameTimeNs).toBe(true);
        }
        // Stateful: the reflector's own count, behind our numbers by the packets it never received
        // (number 1, never sent, and what the drop phases above took), constant while nothing is lost.
        lag.add(senderSeq - reflectorSeq);
      }
      // Only the reflections of requests sent before the capture started have no request to match.
      expect(matched).toBeGreaterThanOrEqual(replies.length - 5);
      expect([...lag].length).toBe(1);
      expect([...lag][0]).toBeGreaterThanOrEqual(1);
    } finally {
      captured.remove();
    }
  });
});


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
