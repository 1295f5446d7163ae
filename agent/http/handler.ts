import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { expositionChunks } from '../../lib/metrics/fast-registry.js';
import { encodeExposition, negotiateExposition, sendExposition } from '../../web/exposition.js';
import { renderStatusPage, type StatusPageModel } from './status-page.js';

/** What the HTTP endpoints read from the running agent; getters because a reload swaps them. */
export interface ExporterSource {
  registry(): Registry | undefined;
  ready(): boolean;
  statusPage(): StatusPageModel | undefined;
  onError(err: unknown): void;
}

/** Routes: /metrics, /healthz (process alive), /-/ready (config loaded, first cycle done), / (status page). */
export function exporterHandler(source: ExporterSource): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n', { Allow: 'GET, HEAD' });
    switch (path) {
      case '/metrics': {
        const registry = source.registry();
        if (!registry) return send(res, 503, 'text/plain', 'no configuration loaded yet\n');
        expositionChunks(registry)
          .then((chunks) => encodeExposition(chunks, negotiateExposition(req.headers)))
          .then(
            (encoded) => sendExposition(res, encoded),
            (err: unknown) => {
              source.onError(err);
              send(res, 500, 'text/plain', 'failed to collect metrics\n');
            },
          );
        return;
      }
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok\n');
      case '/-/ready':
        return source.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not ready: first probe cycle not complete\n');
      case '/': {
        const model = source.statusPage();
        return model ? send(res, 200, 'text/html; charset=utf-8', renderStatusPage(model)) : send(res, 503, 'text/plain', 'starting\n');
      }
      default:
        return send(res, 404, 'text/plain', 'not found\n');
    }
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
