// The healing service: an express app receiving Alertmanager notifications, the engine that acts on them,
// the store that remembers everything, and the read APIs and metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { pino, type Logger } from 'pino';
import { ExecActuator } from './actuators/exec/exec-actuator.js';
import { HttpActuator } from './actuators/http/http-actuator.js';
import { LazyKubernetesActuator } from './actuators/kubernetes/lazy.js';
import type { Actuator } from './actuators/types.js';
import { checkConfigFiles } from './config/files.js';
import { ConfigError, formatConfigIssue, parseDuration, parseListenAddress, type CatalogueError } from '@selfheal/contracts';
import { formatIssues } from './config/load.js';
import type { Config } from './config/schema.js';
import { HealingEngine } from './engine.js';
import { errorBody, webhookErrors } from './errors.js';
import { GrafanaAnnotator } from './escalation/grafana.js';
import { Notifier } from './escalation/notify.js';
import { PauseSwitch } from './guardrails/pause.js';
import { HealingMetrics } from './metrics.js';
import { Policy } from './policy/policy.js';
import { makeAuthenticator } from './receiver/auth.js';
import { IngestQueue } from './receiver/ingest-queue.js';
import { payloadSchema, toReceived } from './receiver/payload.js';
import { createStore } from './store/create.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { HealingStore } from './store/store.js';
import type { Store } from './store/types.js';
import { parseByteSize } from './util/bytes.js';
import { systemClock, type Clock } from './util/clock.js';
import { parseRfc3339 } from './util/rfc3339.js';
import { PrometheusClient } from './verify/prometheus.js';

export interface HealerOptions {
  logger?: Logger;
  /** Start paused (the `--paused` flag). */
  paused?: boolean;
  /** Replace actuators by name (tests inject a KubeConfig-bound Kubernetes actuator this way). */
  actuators?: Map<string, Actuator>;
  /** The config file's name, for error messages. */
  configFile?: string;
  /** Register Node's default process metrics (off in tests that start many instances). */
  defaultMetrics?: boolean;
  /** The engine's clock (cooldowns, rate windows, deferrals, verification); tests inject one they move. */
  clock?: Clock;
}

export interface Healer {
  app: express.Express;
  store: Store;
  /** The SQLite database underneath (tests, tools); undefined with PostgreSQL. */
  sqlite?: HealingStore;
  engine: HealingEngine;
  metrics: HealingMetrics;
  pause: PauseSwitch;
  logger: Logger;
  /** Listens on config.listen (or the given port); returns the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function buildActuators(config: Config, overrides?: Map<string, Actuator>): Map<string, Actuator> {
  const out = new Map<string, Actuator>();
  for (const [name, a] of Object.entries(config.actuators)) {
    const given = overrides?.get(name);
    if (given) out.set(name, given);
    else if (a.type === 'kubernetes') out.set(name, new LazyKubernetesActuator(a));
    else if (a.type === 'http') out.set(name, new HttpActuator(a));
    else out.set(name, new ExecActuator(a));
  }
  return out;
}

/** `since` as RFC 3339, Unix seconds, or a duration back from now ("1h"). */
function parseSince(value: unknown): number | undefined | Error {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return new Error('since must be a single value');
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const d = parseDuration(value);
  if (d !== undefined) return Date.now() / 1000 - d;
  const t = parseRfc3339(value);
  return t === undefined ? new Error(`since="${value.slice(0, 50)}" is not a time (RFC 3339 with an offset, Unix seconds, or a duration like 1h)`) : t / 1000;
}

/** application/json or a +json type, with parameters (charset) or without. */
const JSON_TYPE = /^application\/([\w.!#$&^-]+\+)?json\s*(;.*)?$/i;

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** An error of the catalogue as the status and body of an answer. */
const errorAnswer = (error: CatalogueError): { status: number; body: Record<string, unknown> } => ({ status: error.statusCode, body: errorBody(error) });

function sendError(res: Response, error: CatalogueError): void {
  res.status(error.statusCode).json(errorBody(error));
}

export function createHealer(config: Config, opts: HealerOptions = {}): Healer {
  const logger = opts.logger ?? pino({ name: 'selfheal-webhook' });
  // Every secret file and kubeconfig the config names must be there now, not when the first action runs.
  checkConfigFiles(config, opts.configFile);
  // In bytes: express's own parser reads some forms the config accepts (" 1mb") differently.
  const bodyLimit = parseByteSize(config.bodyLimit);
  if (bodyLimit === undefined) throw new ConfigError(opts.configFile ?? '<config>', [{ path: ['bodyLimit'], message: `${JSON.stringify(config.bodyLimit)} is not a size` }]);
  const authenticate = makeAuthenticator(config.auth);
  if (config.auth.type === 'none') {
    logger.warn('AUTHENTICATION IS OFF (auth: none): anyone who can reach this port can trigger remediation actions. Use it only on a trusted loopback.');
  }
  const clock = opts.clock ?? systemClock;
  let store: Store;
  try {
    store = createStore(config.store, logger, () => clock.now());
  } catch (err) {
    // SQLite opens its file here (PostgreSQL connects in listen()): say which key and which file.
    throw new Error(`store.path: cannot open the SQLite database ${config.store.path}: ${(err as Error).message}`, { cause: err });
  }
  const metrics = new HealingMetrics(store, { defaultMetrics: opts.defaultMetrics, now: () => clock.now() });
  const pause = new PauseSwitch(store, config.pauseFile, opts.paused);
  const prometheus = config.prometheus ? new PrometheusClient(config.prometheus.url, config.prometheus.timeout) : undefined;
  const notifier = config.escalation.notify ? new Notifier(config.escalation.notify) : undefined;
  const grafana = config.grafana ? new GrafanaAnnotator(config.grafana) : undefined;
  const engine = new HealingEngine({
    config, store, policy: new Policy(config), actuators: buildActuators(config, opts.actuators), metrics, pause, logger, prometheus, notifier, grafana, clock,
  });
  // SQLite: one writer, so one transaction at a time (batches grow under load). PostgreSQL: a commit waits
  // on the network and the server's WAL flush, so a few batches overlap.
  const queue = new IngestQueue(store, (alert, id) => engine.decideAtIngest(alert, id), 512, store.kind === 'postgres' ? 4 : 1);
  let ready = false;
  // Readiness reflects the store: checked at most once a second, so probes cost nothing under load.
  let health: { at: number; ok: boolean; detail: string } = { at: 0, ok: false, detail: 'not checked yet' };
  // The driver's error (database host, port, socket path) goes to the log, not to the unauthenticated
  // endpoint: logged when the store starts failing or fails differently, and when it answers again.
  const storeHealth = async () => {
    if (Date.now() - health.at > 1000) {
      const h = await store.health().catch((err: unknown) => ({ ok: false, detail: (err as Error).message }));
      if (!h.ok && (health.ok || health.at === 0 || h.detail !== health.detail)) logger.warn({ store: store.kind, detail: h.detail }, 'store health check failed; /-/ready answers 503');
      else if (h.ok && !health.ok && health.at !== 0) logger.info({ store: store.kind }, 'store answers again; /-/ready answers 200');
      health = { at: Date.now(), ok: h.ok, detail: h.detail };
    }
    return health;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    res.on('finish', () => {
      if (req.path.startsWith('/api/v1/alerts')) metrics.requests.inc({ code: String(res.statusCode) });
    });
    next();
  });
  const requireAuth = (req: Request, res: Response, next: NextFunction): void => {
    if (authenticate(req.headers.authorization)) return next();
    res.setHeader('WWW-Authenticate', config.auth.type === 'basic' ? 'Basic realm="selfheal"' : 'Bearer realm="selfheal"');
    sendError(res, new webhookErrors.Unauthorized());
  };
  // `__proto__` keys would be silently dropped by object construction: refuse them outright. The reviver
  // (slow) only runs when the text could contain one, escaped or not.
  const reviver = (key: string, value: unknown): unknown => {
    if (key === '__proto__') throw new SyntaxError('"__proto__" is not allowed as a key');
    return value;
  };
  const text = express.text({ limit: bodyLimit, type: () => true });
  const parseJson = (req: Request, res: Response, next: NextFunction): void => {
    const raw = typeof req.body === 'string' ? req.body : '';
    try {
      req.body = raw === '' ? undefined : JSON.parse(raw, /__proto__|\\u/.test(raw) ? reviver : undefined);
    } catch (err) {
      sendError(res, new webhookErrors.InvalidJson((err as Error).message));
      return;
    }
    next();
  };
  const json: RequestHandler[] = [text, parseJson];

  // Liveness: the process serves HTTP. It does not fail when the store is down (restarting would not bring the
  // database back, and every replica would restart at once); readiness does.
  app.get('/-/healthy', (_req, res) => { res.type('text/plain').send('OK\n'); });
  app.get('/-/ready', async (_req, res) => {
    if (!ready) { res.status(503).type('text/plain').send('starting\n'); return; }
    const h = await storeHealth();
    res.status(h.ok ? 200 : 503).type('text/plain').send(h.ok ? `ready (${store.kind} store)\n` : `not ready: ${store.kind} store unavailable\n`);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.post('/api/v1/alerts', requireAuth, (req: Request, res: Response, next: NextFunction) => {
    // Alertmanager sends `Content-Type: application/json`; a body without a type is not taken for JSON.
    const type = req.headers['content-type'] ?? '';
    if (!JSON_TYPE.test(type)) {
      sendError(res, new webhookErrors.UnsupportedMediaType(type));
      return;
    }
    next();
  }, ...json, async (req: Request, res: Response) => {
    const answer = await acceptAlerts(req.body);
    res.status(answer.status).json(answer.body);
  });

  /** Validates, records durably, then hands new incidents to the engine. The status and body of the answer. */
  async function acceptAlerts(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const parsed = payloadSchema.safeParse(body);
    if (!parsed.success) {
      return errorAnswer(new webhookErrors.InvalidPayload(formatIssues(parsed.error.issues.slice(0, 10)).map((issue) => formatConfigIssue(issue))));
    }
    const alerts = parsed.data.alerts.map(toReceived);
    let outcomes;
    try {
      outcomes = await queue.write(alerts);
    } catch (err) {
      // Not recorded: ask Alertmanager to retry (it retries 5xx, not 4xx).
      logger.error({ err }, 'could not record alerts; answering 500 so Alertmanager retries');
      return errorAnswer(new webhookErrors.NotRecorded());
    }
    const counts = { new: 0, duplicate: 0, resolved: 0 };
    for (const o of outcomes) {
      if (o.kind === 'new') {
        counts.new++;
        metrics.alertsReceived.inc({ status: 'firing' });
        if (o.decided) engine.recordDecided(o.decided);
        else engine.enqueue(o.incidentId);
      } else if (o.kind === 'resolved') {
        counts.resolved++;
        metrics.alertsReceived.inc({ status: 'resolved' });
        if (o.recoverySeconds !== null) metrics.recovery.observe({ service: metrics.serviceLabel(o.service ?? 'unknown') }, o.recoverySeconds);
        engine.onResolved(o.incidentId);
      } else {
        counts.duplicate++;
        // Recorded earlier but never started (e.g. the disk sync failed after the commit and we answered 500):
        // the retry starts it. The engine ignores incidents already running or decided.
        if (o.kind === 'duplicate' && o.pending) engine.enqueue(o.incidentId);
      }
    }
    return { status: 200, body: { status: 'success', received: alerts.length, ...counts } };
  }

  /**
   * The common case of POST /api/v1/alerts without express's router and body parser (a fifth of the CPU per
   * alert): authenticated, JSON, identity-encoded, with a Content-Length within bodyLimit. Anything else
   * (bad credentials, other types, encodings, chunked or oversized bodies) goes through express, which
   * answers it exactly as before. Returns false when it did not take the request.
   */
  const fastAlerts = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST' || req.url !== '/api/v1/alerts') return false;
    const h = req.headers;
    const length = Number(h['content-length']);
    if (!Number.isInteger(length) || length <= 0 || length > bodyLimit || h['transfer-encoding'] !== undefined) return false;
    if ((h['content-encoding'] ?? 'identity').toLowerCase() !== 'identity' || !/^application\/(.+\+)?json\s*(;\s*charset=utf-8\s*)?$/i.test(h['content-type'] ?? '')) return false;
    if (!authenticate(h.authorization)) return false;
    const chunks: Buffer[] = [];
    let size = 0;
    const send = (status: number, body: Record<string, unknown>) => {
      const text = JSON.stringify(body);
      metrics.requests.inc({ code: String(status) });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    req.on('data', (c: Buffer) => { size += c.length; if (size <= length) chunks.push(c); });
    const sendFailure = (error: CatalogueError) => { const a = errorAnswer(error); send(a.status, a.body); };
    req.on('error', () => { if (!res.headersSent) sendFailure(new webhookErrors.RequestAborted()); });
    req.on('end', () => {
      if (size !== length) { sendFailure(new webhookErrors.LengthMismatch(size, length)); return; }
      const raw = Buffer.concat(chunks, size).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(raw, /__proto__|\\u/.test(raw) ? reviver : undefined);
      } catch (err) {
        sendFailure(new webhookErrors.InvalidJson((err as Error).message));
        return;
      }
      acceptAlerts(body).then((a) => send(a.status, a.body), (err: unknown) => {
        logger.error({ err }, 'request failed');
        sendFailure(new webhookErrors.Internal());
      });
    });
    return true;
  };

  app.get('/api/v1/actions', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const rows = await store.listActions({ service: one(req.query.service), since, limit: Number(one(req.query.limit) ?? 500) || 500 });
    res.json({ status: 'success', data: rows.map((r) => ({ ...r, detail: r.detail ? JSON.parse(r.detail) as unknown : null })) });
  });
  app.get('/api/v1/incidents', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const state = one(req.query.state);
    if (state !== undefined && state !== 'open' && state !== 'resolved') { sendError(res, new webhookErrors.InvalidState()); return; }
    const rows = await store.listIncidents({ service: one(req.query.service), since, state, limit: Number(one(req.query.limit) ?? 500) || 500 });
    res.json({ status: 'success', data: rows.map((r) => ({ ...r, labels: JSON.parse(r.labels) as unknown, annotations: JSON.parse(r.annotations) as unknown })) });
  });
  app.get('/api/v1/audit', requireAuth, async (req, res) => {
    const since = parseSince(req.query.since);
    if (since instanceof Error) { sendError(res, new webhookErrors.InvalidSince(since.message)); return; }
    const incident = one(req.query.incident);
    const rows = await store.listAudit({ since, incidentId: incident ? Number(incident) : undefined, limit: Number(one(req.query.limit) ?? 1000) || 1000 });
    res.json({ status: 'success', data: rows.map((r) => ({ ...r, detail: r.detail ? JSON.parse(r.detail) as unknown : null })) });
  });
  app.get('/api/v1/pause', requireAuth, async (_req, res) => { res.json({ status: 'success', data: await pause.state() }); });
  app.post('/api/v1/pause', requireAuth, ...json, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { paused?: unknown; reason?: unknown };
    const paused = body.paused === undefined ? true : body.paused;
    if (typeof paused !== 'boolean' || (body.reason !== undefined && typeof body.reason !== 'string')) {
      sendError(res, new webhookErrors.InvalidPauseBody());
      return;
    }
    const state = await pause.set(paused, typeof body.reason === 'string' ? body.reason.slice(0, 500) : undefined);
    logger.warn({ paused, reason: body.reason }, paused ? 'healing paused through the API' : 'healing resumed through the API');
    res.json({ status: 'success', data: state });
  });

  app.use((_req, res) => { sendError(res, new webhookErrors.NotFound()); });
  // body-parser errors carry an HTTP status (400 malformed JSON, 413 too large, 415 charset); anything else is ours.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string };
    const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    if (status === 500) logger.error({ err }, 'request failed');
    const error = e.type === 'entity.parse.failed' ? new webhookErrors.InvalidJson(e.message ?? '')
      : e.type === 'entity.too.large' ? new webhookErrors.BodyTooLarge(config.bodyLimit)
      : e.type === 'request.aborted' ? new webhookErrors.RequestAborted()
      : status === 415 ? new webhookErrors.UnsupportedBodyEncoding(e.message ?? 'unsupported body encoding')
      : status === 500 ? new webhookErrors.Internal()
      : new webhookErrors.BadRequest(e.message ?? 'bad request');
    if (!res.headersSent) sendError(res, error);
  });

  let server: Server | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  const healer: Healer = {
    app, store, sqlite: store instanceof SqliteStore ? store.sqlite : undefined, engine, metrics, pause, logger,
    async listen(port?: number, host?: string) {
      // Schema and migrations first (PostgreSQL: waits for the server up to store.connectTimeout).
      await store.open();
      await metrics.restore();
      const configured = parseListenAddress(config.listen);
      const h = host ?? configured.host;
      const p = port ?? configured.port;
      await new Promise<void>((resolve, reject) => {
        const s = createServer((req, res) => { if (!fastAlerts(req, res)) app(req, res); });
        s.once('error', (err) => reject(new Error(`listen: cannot listen on ${h}:${p}: ${err.message}`, { cause: err })));
        s.listen(p, h, () => resolve());
        server = s;
      });
      // Alertmanager cuts a receiver after 10 s; keep-alive lets it reuse connections.
      server!.keepAliveTimeout = 30_000;
      // Retention: closed incidents and audit rows older than store.retention are pruned hourly.
      const prune = () => {
        store.prune(config.store.retention).then(
          (n) => { if (n > 0) logger.info({ pruned: n }, 'pruned closed incidents past retention'); },
          (err: unknown) => logger.warn({ err }, 'pruning failed'),
        );
      };
      prune();
      pruneTimer = setInterval(prune, 3600_000);
      pruneTimer.unref();
      await store.heartbeat();
      const resumed = await engine.recover();
      if (resumed > 0) logger.info({ resumed }, 'resuming unfinished incidents after restart');
      if (store.kind === 'postgres') {
        // Leases: this replica renews its own; incidents held by a replica whose lease ran out (it died
        // mid-incident) are taken over here. An action it had started is verified, never repeated.
        const every = Math.max(0.2, config.store.lease / 3) * 1000;
        const tick = async () => {
          try {
            await store.heartbeat();
            const taken = await engine.recover();
            if (taken > 0) logger.warn({ taken }, 'took over unfinished incidents of a replica whose lease expired');
          } catch (err) {
            logger.warn({ err: (err as Error).message }, 'store lease renewal failed');
          }
        };
        const loop = () => { leaseTimer = setTimeout(() => void tick().finally(() => { if (ready) loop(); }), every); leaseTimer.unref(); };
        loop();
      }
      ready = true;
      const addr = server!.address() as AddressInfo;
      return `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
    },
    async close() {
      ready = false;
      clearInterval(pruneTimer);
      clearTimeout(leaseTimer);
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });
      }
      await engine.stop();
      await store.close();
    },
  };
  return healer;
}
