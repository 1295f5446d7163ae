// The first run: `linkmon` with no arguments (the demo) as a user would start it, without
// CAP_NET_RAW (setpriv drops every capability; needs root and util-linux). Its start-up logs no
// warning or error, and the status page lists every target, throughput included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLinkmon, waitFor, type LinkmonProcess } from '../support/linkmon-process.js';
import { freeLoopbackPort } from '../support/ports.js';

describe('the demo (linkmon with no arguments), without CAP_NET_RAW', () => {
  let demo: LinkmonProcess;
  let base: string;

  beforeAll(async () => {
    const port = await freeLoopbackPort();
    base = `http://127.0.0.1:${port}`;
    // --log-level: the old spelling of --log.level, still accepted.
    demo = startLinkmon(['--web.listen-address', `127.0.0.1:${port}`, '--log.format', 'json', '--log-level', 'info'], {
      wrapper: ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--'],
    });
    await waitFor('the demo ready', async () => ((await fetch(`${base}/-/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000, 200);
  });
  afterAll(() => demo?.stop());

  it('logs no warning or error while starting, and says why ICMP is left out', () => {
    const lines = demo
      .output()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(lines.map((line) => line.msg)).toContain('demo: ICMP left out (it needs root or CAP_NET_RAW, or a group in net.ipv4.ping_group_range, and a built socket module); every other probe runs');
  });

  it('lists every target on the status page with its last result, throughput with its next run, and names the site once', async () => {
    const page = await (await fetch(`${base}/`)).text();
    const rows = [...page.matchAll(/<tr class="(\w+)"><td>([^<]+)<\/td><td>(\w+)<\/td>(?:<td>[^<]*<\/td>){2}<td>([^<]*)<\/td>(?:<td>[^<]*<\/td>){2}<td>([^<]*)<\/td><\/tr>/g)].map(
      ([, state, target, kind, lastResult, runs]) => ({ state, target, kind, lastResult, runs }),
    );
    expect(rows.map((r) => r.target)).toEqual(['responder-tcp', 'responder-http', 'responder-udp', 'responder-throughput']);
    for (const row of rows.filter((r) => r.kind !== 'throughput')) expect(row).toMatchObject({ state: 'ok', lastResult: expect.stringMatching(/^ok, /), runs: expect.stringMatching(/^every /) });
    expect(rows.at(-1)).toMatchObject({ kind: 'throughput', lastResult: expect.stringMatching(/^pending$|^download /), runs: expect.stringMatching(/^next \d{4}-/) });
    expect(page).toContain('<h1>Loopback demo</h1>');
    expect(page.split('<body>')[1]!.split('Loopback demo')).toHaveLength(2);
  });
});
