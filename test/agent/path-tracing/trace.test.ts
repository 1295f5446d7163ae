// The hop-by-hop trace and the path comparison, against scripted answers (no sockets).
import { describe, expect, it } from 'vitest';
import { lastRespondingHop, pathChanged, ProbeSendError, traceRoute, type HopProber, type ProbeAnswer, type Trace } from '../../../agent/path-tracing/trace.js';

const SETTINGS = { maxHops: 8, probes: 3, timeoutSeconds: 0.1 };
const router = (from: string): ProbeAnswer => ({ from, kind: 'time_exceeded', rttSeconds: 0.001 });
const destination = (from: string): ProbeAnswer => ({ from, kind: 'reached', rttSeconds: 0.002 });

/** A network that answers TTL n with `answers[n - 1]` for every probe (an array: one per probe); nothing beyond. */
function network(answers: (ProbeAnswer | undefined | (ProbeAnswer | undefined)[])[]): HopProber & { asked: number[] } {
  const asked: number[] = [];
  const probe = async (ttl: number, probes: number) => {
    asked.push(ttl);
    const hop = answers[ttl - 1];
    return Array.from({ length: probes }, (_, i) => (Array.isArray(hop) ? hop[i] : hop));
  };
  return Object.assign(probe, { asked });
}

const trace = (prober: HopProber) => traceRoute(prober, SETTINGS, new AbortController().signal);

describe('traceRoute', () => {
  it('goes hop by hop and stops at the destination', async () => {
    const net = network([router('10.0.0.1'), router('10.0.1.1'), destination('10.0.2.2')]);
    const result = await trace(net);
    expect(result.outcome).toEqual({ reached: true, hops: 3 });
    expect(net.asked).toEqual([1, 2, 3]);
    expect(result.hops.map((h) => [h.ttl, h.sent, h.answers.length])).toEqual([[1, 3, 3], [2, 3, 3], [3, 3, 3]]);
  });

  it('a blackhole at hop 2: unreached after max_hops, the last responding hop is 1', async () => {
    const result = await trace(network([router('10.0.0.1')]));
    expect(result.outcome).toMatchObject({ reached: false, reason: 'unreached' });
    expect(!result.outcome.reached && result.outcome.detail).toBe('no answer from the destination within 8 hops; the last answer came from hop 1 (10.0.0.1)');
    expect(result.hops).toHaveLength(8);
    expect(lastRespondingHop(result.hops)).toBe(1);
  });

  it('a routing loop: stops with reason loop when a router answers again two hops later', async () => {
    const net = network([router('10.0.0.1'), router('10.0.1.2'), router('10.0.0.1'), router('10.0.1.2')]);
    const result = await trace(net);
    expect(result.outcome).toEqual({ reached: false, reason: 'loop', detail: 'routing loop: 10.0.0.1 answered at hops 1 and 3' });
    expect(net.asked).toEqual([1, 2, 3]);
  });

  it('the same router at two neighbouring hops is not a loop (a device that does not decrement the TTL)', async () => {
    const result = await trace(network([router('10.0.0.1'), router('10.0.0.1'), destination('10.0.2.2')]));
    expect(result.outcome).toEqual({ reached: true, hops: 3 });
  });

  it('a router that says the destination is unreachable ends the trace with reason unreachable', async () => {
    const result = await trace(network([router('10.0.0.1'), { from: '10.0.1.1', kind: 'unreachable', rttSeconds: 0.001 }]));
    expect(result.outcome).toEqual({ reached: false, reason: 'unreachable', detail: 'hop 2 (10.0.1.1) answered that the destination is unreachable' });
  });

  it('a probe that cannot be sent ends the trace with the reason the prober gives', async () => {
    const result = await trace(async () => {
      throw new ProbeSendError('network', 'send to 10.0.2.2:33434: EPERM: Operation not permitted');
    });
    expect(result.outcome).toEqual({ reached: false, reason: 'network', detail: 'TTL 1: send to 10.0.2.2:33434: EPERM: Operation not permitted' });
  });
});

describe('pathChanged', () => {
  const run = (answers: Parameters<typeof network>[0]): Promise<Trace> => trace(network(answers));

  it('is a change: another hop count, or another address at a hop that answered both times', async () => {
    const before = await run([router('a'), router('b'), router('c'), destination('d')]);
    expect(pathChanged(before, await run([router('a'), router('c'), destination('d')]))).toBe(true);
    expect(pathChanged(before, await run([router('a'), router('x'), router('c'), destination('d')]))).toBe(true);
  });

  it('is not a change: the same path, a lost answer, or an outage beyond a hop', async () => {
    const before = await run([router('a'), router('b'), router('c'), destination('d')]);
    expect(pathChanged(before, await run([router('a'), router('b'), router('c'), destination('d')]))).toBe(false);
    expect(pathChanged(before, await run([router('a'), [undefined, undefined, undefined], router('c'), destination('d')]))).toBe(false);
    expect(pathChanged(before, await run([router('a')]))).toBe(false);
  });

  it('takes the address that answered most at a hop (load-balanced hops)', async () => {
    const before = await run([router('a'), [router('b1'), router('b2'), router('b1')], destination('d')]);
    expect(pathChanged(before, await run([router('a'), [router('b2'), router('b1'), router('b1')], destination('d')]))).toBe(false);
    expect(pathChanged(before, await run([router('a'), [router('b2'), router('b2'), router('b1')], destination('d')]))).toBe(true);
  });
});
