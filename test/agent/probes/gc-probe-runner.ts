// Run by deadline-gc.test.ts as `node --expose-gc --import tsx gc-probe-runner.ts '<json>'`: probes a
// dead port `count` times, one after another, forcing a full garbage collection every few
// milliseconds meanwhile, and prints one JSON line per result. A deadline that lives only in a
// weakly held object (AbortSignal.timeout inside AbortSignal.any, Node issue 57736) is collected
// here and the probe then waits for the kernel to give up on the SYN (~127 s).
import { probeHttp } from '../../../agent/probes/http.js';
import { probeTcp } from '../../../agent/probes/tcp.js';

interface RunnerArgs {
  kind: 'tcp' | 'http';
  port: number;
  timeoutSeconds: number;
  count: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as RunnerArgs;
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with --expose-gc');
const collector = setInterval(collect, 5);
const signal = new AbortController().signal;
for (let i = 0; i < args.count; i++) {
  const started = performance.now();
  const result =
    args.kind === 'tcp'
      ? await probeTcp({
          target: { name: 'dead', module: 'm', host: '127.0.0.1', port: args.port, labels: {} },
          module: { kind: 'tcp', interval: 10, timeout: args.timeoutSeconds },
          labels: {},
          signal,
        })
      : await probeHttp({
          target: { name: 'dead', module: 'm', url: `http://127.0.0.1:${args.port}/`, labels: {} },
          module: { kind: 'http', interval: 10, timeout: args.timeoutSeconds, method: 'GET', expect_status: [], headers: {}, tls: { insecure_skip_verify: false }, body_size_limit: 1 << 20 },
          labels: {},
          signal,
        });
  process.stdout.write(`${JSON.stringify({ ok: result.ok, reason: result.ok ? undefined : result.reason, elapsedMs: performance.now() - started })}\n`);
}
clearInterval(collector);
