import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { ExpositionRenderer, negotiateExposition, sendExposition, type EncodedExposition } from '../../web/exposition.js';
import { RenderReuse, ScrapeLimit } from './scrape-load.js';
import { renderStatusPage, type StatusPageModel } from './status-page.js';

/** What the HTTP endpoints read from the running agent; getters because a reload swaps them. */
export interface ExporterSource {
  registry(): Registry | undefined;
  ready(): boolean;
  statusPage(): StatusPageModel | undefined;
  onError(err: unknown): void;
}

/** How much /metrics may cost (scrape-load.ts); defaults for anything not given. */
export interface ScrapeLoad {
  limit?: ScrapeLimit;
  renderer?: ExpositionRenderer;
}

/** Routes: /metrics, /healthz (process alive), /-/ready (config loaded, first cycle done), / (status page). */
export function exporterHandler(source: ExporterSource, load: ScrapeLoad = {}): RequestListener {
  const limit = load.limit ?? new ScrapeLimit();
  const renderer = load.renderer ?? new ExpositionRenderer();
  // A rendering's memory goes back to the renderer once no scrape can be answered from it and every
  // response sending it has closed: a slow reader keeps its bytes while later scrapes render elsewhere.
  const reuse = new RenderReuse<EncodedExposition>(undefined, undefined, (encoded) => encoded.release());
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n', { Allow: 'GET, HEAD' });
    switch (path) {
      case '/metrics': {
        const registry = source.registry();
        if (!registry) return send(res, 503, 'text/plain', 'no configuration loaded yet\n');
        if (!limit.admit(res)) return send(res, 503, 'text/plain', `limit of ${limit.limit} concurrent scrapes reached, try again later\n`, { 'Retry-After': '1' });
        const variant = negotiateExposition(req.headers);
        reuse
          .body(registry, `${variant.format} ${variant.encoding}`, () => renderer.render(registry, variant), res)
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
