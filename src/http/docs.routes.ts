import { Router } from 'express';
import { BOARD_PATH } from './board.js';
import { openApiDocument } from './openapi.js';

type Op = { summary?: string; operationId?: string; security?: Array<Record<string, unknown>>; parameters?: Param[]; responses?: Record<string, { description?: string; $ref?: string }> };
type Param = { name?: string; in?: string; required?: boolean; description?: string; $ref?: string };
type Doc = { info: { title: string; version: string; description?: string }; paths: Record<string, Record<string, unknown>>; webhooks?: Record<string, unknown> };

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232b}
code,.path{font-family:ui-monospace,monospace}h1{margin-bottom:.2rem}.op{border:1px solid #d5dae1;border-radius:6px;margin:.8rem 0;padding:.6rem .9rem}
.m{display:inline-block;min-width:4.5rem;font-weight:600;text-transform:uppercase}.get{color:#1565c0}.post{color:#2e7d32}.put{color:#ef6c00}
.patch{color:#6a1b9a}.delete{color:#c62828}small{color:#5b6673}ul{margin:.3rem 0}a{color:#1565c0}`;

/** The OpenAPI document rendered as one plain HTML page, with nothing loaded from anywhere else. */
export function renderApiDocs(doc: Doc): string {
  const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => {
      const op = item[m] as Op;
      const params = [...((item.parameters as Param[] | undefined) ?? []), ...(op.parameters ?? [])];
      const auth = op.security?.length === 0 ? 'no auth' : (op.security ?? [{ shopKey: [] }]).map((s) => Object.keys(s).join(' + ')).join(' or ');
      return `<div class="op" id="${esc(op.operationId)}"><span class="m ${m}">${m}</span> <span class="path">${esc(path)}</span>
  <div>${esc(op.summary)} <small>(${esc(auth)})</small></div>
  ${params.length ? `<ul>${params.map((p) => `<li><code>${esc(p.name ?? p.$ref?.split('/').pop())}</code>${p.in ? ` <small>${esc(p.in)}${p.required ? ', required' : ''}</small>` : ''} ${esc(p.description)}</li>`).join('')}</ul>` : ''}
  <ul>${Object.entries(op.responses ?? {}).map(([status, r]) => `<li><code>${esc(status)}</code> ${esc(r.description ?? r.$ref?.split('/').pop())}</li>`).join('')}</ul></div>`;
    }),
  );
  const hooks = Object.keys(doc.webhooks ?? {});
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)} API</title><style>${STYLE}</style></head><body>
<h1>${esc(doc.info.title)} API <small>${esc(doc.info.version)}</small></h1>
<p>${esc(doc.info.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
${ops.join('\n')}
${hooks.length ? `<h2>Webhooks to shops</h2><ul>${hooks.map((h) => `<li><code>${esc(h)}</code></li>`).join('')}</ul>` : ''}
</body></html>`;
}

/** `/`: where everything is. `/docs`: the API reference. */
export function docsRouter(): Router {
  const r = Router();
  const docs = renderApiDocs(openApiDocument() as Doc);
  const home = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>orderworks</title><style>${STYLE}</style></head><body><h1>orderworks</h1>
<p>The order pipeline behind online shops: shops submit orders over HTTP; workers place them, take payment, follow the parcel and tell the shop at every step.</p>
<ul><li><a href="/docs">API reference</a> (<a href="/openapi.json">OpenAPI document</a>)</li>
<li><a href="${BOARD_PATH}">Queues dashboard</a> (operators)</li>
<li><a href="/readyz">Readiness</a> and <a href="/healthz">health</a></li></ul></body></html>`;
  r.get('/', (_req, res) => void res.type('html').send(home));
  r.get('/docs', (_req, res) => void res.type('html').send(docs));
  return r;
}
