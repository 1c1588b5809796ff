// Property tests of the webhook receiver (fast-check, seeded; a failure prints its seed and the shrunk
// counterexample) over real HTTP, raw TCP when the case needs bytes fetch would not send, against the real
// server with a real SQLite store. fuzz.test.ts throws 10,000 random mutations at it; this file states what the
// answer must be for each kind of hostile input:
// - must-reject input (truncated JSON, wrong types, bodies over bodyLimit, `__proto__` keys, lone surrogates,
//   bad credentials in every form) gets a 4xx, never a 5xx, and changes nothing in the store;
// - hostile but valid input (any Unicode, NUL, SQL, template syntax, `constructor`/`toString` label names) is
//   accepted and stored exactly as sent;
// - a payload the store refuses halfway is not recorded at all (500, so Alertmanager retries).
// Before and after, the audit log and incidents recorded earlier are unchanged, and the database is sound.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRow, IncidentRow } from '../src/audit/types.js';
import { payload, startHealer, TOKEN, type TestHealer } from './support/harness.js';
import { rawHttp, type RawRequest } from './support/raw-http.js';

const SEED = Number(process.env.FC_SEED ?? 20261124);
const RUNS = Number(process.env.FC_RUNS ?? 150);
const BODY_LIMIT = 64 * 1024;
const PASSWORD = 'correct-horse-battery-staple';
const params = (numRuns = RUNS) => ({ seed: SEED, numRuns });

let svc: TestHealer;
let basic: TestHealer;
let auditBefore: AuditRow[];
let incidentsBefore: IncidentRow[];

const JSON_HEADERS: [string, string][] = [['Content-Type', 'application/json'], ['Authorization', `Bearer ${TOKEN}`]];
const post = (body: string | Buffer, framing: RawRequest['framing'] = 'length', headers = JSON_HEADERS, base = svc.url) =>
  rawHttp(base, { path: '/api/v1/alerts', headers, body, framing });
/** Header values with the bytes an HTTP parser refuses (controls other than tab) replaced. */
const headerSafe = (s: string) => [...s].map((c) => (c === '\t' || (c >= ' ' && c !== '\x7f') ? c : 'x')).join('');

/** Nothing of what was stored before has changed, and nothing was added. */
function expectStoreUnchanged(): void {
  const store = svc.healer.sqlite!;
  expect(store.listAudit({ limit: 100_000 })).toEqual(auditBefore);
  expect(store.listIncidents({ limit: 100_000 })).toEqual(incidentsBefore);
  expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
}

// ---- generators ----

const labelName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/).filter((n) => !n.startsWith('__'));
/** Values a hostile sender might choose: any code point (no lone surrogates: those are refused), and classics. */
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\r\n\r\nHTTP/1.1 200 OK', "'; DROP TABLE audit; --", '{{ labels.service }}', '${jndi:ldap://127.0.0.1/x}',
    '<script>alert(1)</script>', '../../etc/passwd', '__proto__', 'constructor', '\u202e\u2066', '\ufeff', '\uffff', '😀'.repeat(100), 'x'.repeat(4096)),
);
const startsAt = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
/** A valid alert with hostile values. */
const alertArb = fc.record({
  status: fc.constantFrom('firing' as const, 'resolved' as const),
  labels: fc.dictionary(labelName, hostileString, { maxKeys: 6 }),
  annotations: fc.dictionary(labelName, hostileString, { maxKeys: 3 }),
  startsAt,
}).map((a) => ({ ...a, labels: { alertname: 'SelfhealAnomaly', ...a.labels } }));
/** Generated values are shared with the shrinker: each property works on its own copy (fresh()). */
const payloadArb = fc.array(alertArb, { minLength: 1, maxLength: 3 }).map((alerts) => payload(alerts));
const fresh = <T>(value: T): T => structuredClone(value);
let fingerprints = 0;
/** A fingerprint never used before: every run (and every shrinking step) posts new occurrences. */
const nextFingerprint = () => `f${(++fingerprints).toString(16).padStart(12, '0')}`;

type Json = Record<string, unknown>;
/** A value that JSON round-trips to something other than a string (NaN, Infinity become null). */
const nonString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }));
const nonObject = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 10 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }));
const notRfc3339 = fc.oneof(nonString, fc.constantFrom('0', '-1', '12345', '2026-11-23T22:00:00', '2026-11-23', 'now', ''), fc.string({ maxLength: 30 }))
  .filter((v) => typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v));

/** A field of a valid payload, a value of the wrong type for it, and the path the 400 must name. */
interface WrongType { path: readonly (string | number)[]; value: unknown }
const wrongType: fc.Arbitrary<WrongType> = fc.oneof(
  fc.record({ path: fc.constant(['version']), value: fc.oneof(nonString, fc.constantFrom('3', '5', ' 4', '')) }),
  fc.record({ path: fc.constant(['status']), value: fc.oneof(nonString, fc.constantFrom('FIRING', 'ok', '')) }),
  fc.record({ path: fc.constant(['alerts']), value: nonObject.filter((v) => !Array.isArray(v)) }),
  fc.record({ path: fc.constant(['truncatedAlerts']), value: fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }).filter(Number.isFinite), fc.string(), fc.boolean()) }),
  fc.record({ path: fc.constant(['receiver']), value: nonString }),
  fc.record({ path: fc.constant(['groupLabels']), value: nonObject }),
  fc.record({ path: fc.constant(['alerts', 0, 'status']), value: fc.oneof(nonString, fc.constantFrom('pending', 'Resolved')) }),
  fc.record({ path: fc.constant(['alerts', 0, 'labels']), value: nonObject }),
  fc.record({ path: fc.constant(['alerts', 0, 'labels', 'service']), value: nonString }),
  fc.record({ path: fc.constant(['alerts', 0, 'annotations', 'summary']), value: nonString }),
  fc.record({ path: fc.constant(['alerts', 0, 'startsAt']), value: notRfc3339 }),
  fc.record({ path: fc.constant(['alerts', 0, 'endsAt']), value: notRfc3339 }),
  fc.record({ path: fc.constant(['alerts', 0, 'fingerprint']), value: fc.oneof(nonString, fc.constantFrom('a-b', '../x', 'x'.repeat(129))) }),
);

function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function setPath(target: Json, path: readonly (string | number)[], value: unknown): void {
  let node: Json = target;
  for (const key of path.slice(0, -1)) node = node[key] as Json;
  node[path[path.length - 1]!] = value;
}

beforeAll(async () => {
  svc = await startHealer({ rules: [], bodyLimit: `${BODY_LIMIT / 1024}kb` });
  writeFileSync(join(svc.dir, 'password'), `${PASSWORD}\n`);
  basic = await startHealer({ rules: [], auth: { type: 'basic', username: 'alertmanager', passwordFile: join(svc.dir, 'password') }, store: { path: join(svc.dir, 'basic.db') } }, { dir: svc.dir });
  // What is stored before the hostile input: it must stay exactly as it is.
  for (let i = 0; i < 3; i++) {
    const res = await svc.post(payload([{ fingerprint: `base${i}`, startsAt: `2026-11-2${i}T22:00:00Z` }, { fingerprint: `base${i}r`, status: 'resolved' }]));
    expect(res.status).toBe(200);
  }
  await svc.healer.engine.idle();
  auditBefore = svc.healer.sqlite!.listAudit({ limit: 100_000 });
  incidentsBefore = svc.healer.sqlite!.listIncidents({ limit: 100_000 });
  expect(auditBefore.length).toBeGreaterThan(0);
}, 30_000);

afterAll(async () => {
  await basic?.stop();
  await svc?.close();
});

describe('must-reject input: 4xx, never 5xx, nothing stored', () => {
  it('truncated JSON (every cut of a valid payload, with a true or a lying Content-Length, or chunked)', async () => {
    await fc.assert(fc.asyncProperty(payloadArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom('length' as const, 'chunked' as const, 'short' as const), async (p, at, framing) => {
      const text = JSON.stringify(p);
      const cut = text.slice(0, Math.floor(at * text.length));
      const res = await post(cut, framing);
      // A cut-off body (the connection closed before Content-Length bytes came) may get no answer at all.
      if (framing === 'short' && res.status === undefined) return;
      expect(res.status, res.body).toBe(400);
    }), params());
    expectStoreUnchanged();
  }, 120_000);

  it('a wrong type or form in any field: 400 naming that field, in any alert of the batch', async () => {
    await fc.assert(fc.asyncProperty(payloadArb, wrongType, fc.nat(), async (generated, wrong, which) => {
      const p = fresh(generated);
      const alerts = p.alerts as Json[];
      // Put the bad field into any alert of the batch: the valid ones around it are not recorded either.
      const index = which % alerts.length;
      const path = wrong.path.map((k, i) => (i === 1 && wrong.path[0] === 'alerts' ? index : k));
      setPath(p, path, wrong.value);
      const res = await post(JSON.stringify(p));
      expect(res.status, res.body).toBe(400);
      expect((JSON.parse(res.body) as { error: string }).error).toContain(`${formatPath(path)}: `);
    }), params());
    expectStoreUnchanged();
  }, 120_000);

  it('bodies over bodyLimit: 413, whether announced by Content-Length or chunked', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT * 6 }), fc.constantFrom('length' as const, 'chunked' as const), async (size, framing) => {
      // A valid payload padded to `size` bytes with an annotation: only its size is wrong.
      const base = JSON.stringify(payload([{ fingerprint: 'big', annotations: { description: '' } }]));
      const body = base.replace('"description":""', `"description":"${'x'.repeat(size - base.length)}"`);
      expect(Buffer.byteLength(body)).toBe(size);
      const res = await post(body, framing);
      expect(res.status, res.body).toBe(413);
    }), params(40));
    expectStoreUnchanged();
  }, 120_000);

  it('a __proto__ key anywhere, written plainly or with \\u escapes: 400', async () => {
    const spellings = ['"__proto__"', '"\\u005f\\u005fproto\\u005f\\u005f"', '"__pro\\u0074o__"', '"\\u005F_proto__"'];
    const where = fc.constantFrom<(p: Json) => Json>((p) => p, (p) => (p.alerts as Json[])[0]!, (p) => (p.alerts as Json[])[0]!.labels as Json,
      (p) => (p.alerts as Json[])[0]!.annotations as Json, (p) => p.groupLabels as Json, (p) => p.commonAnnotations as Json);
    await fc.assert(fc.asyncProperty(payloadArb, where, fc.constantFrom(...spellings), fc.jsonValue({ maxDepth: 2 }), async (generated, at, key, value) => {
      const p = fresh(generated);
      at(p).INJECTED = 0;
      const body = JSON.stringify(p).replace('"INJECTED":0', `${key}:${JSON.stringify(value)}`);
      const res = await post(body);
      expect(res.status, res.body).toBe(400);
    }), params());
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    expectStoreUnchanged();
  }, 120_000);

  it('a lone surrogate (\\ud800) in any string: 400 naming the field, instead of being stored altered', async () => {
    const lone = fc.constantFrom('\ud800', '\udfff', 'a\ud83d', '\ude00b', 'x\udc00\ud800y');
    const field = fc.constantFrom(['alerts', 0, 'labels', 'service'], ['alerts', 0, 'annotations', 'summary'], ['receiver'], ['groupKey'], ['alerts', 0, 'generatorURL'], ['externalURL']);
    await fc.assert(fc.asyncProperty(payloadArb, field, lone, async (generated, path, value) => {
      const p = fresh(generated);
      setPath(p, path, value);
      const res = await post(JSON.stringify(p)); // JSON.stringify writes a lone surrogate as a \ud800 escape
      expect(res.status, res.body).toBe(400);
      expect((JSON.parse(res.body) as { error: string }).error).toContain(`${formatPath(path)}: `);
    }), params(60));
    expectStoreUnchanged();
  }, 120_000);

  it('bearer auth in every form: only "Bearer <token>" (scheme in any case, spaces or tabs) gets past 401', async () => {
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === s[i]!.toUpperCase() ? s[i]!.toLowerCase() : s[i]!.toUpperCase()) + s.slice(i + 1);
    const scheme = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR');
    const gap = fc.stringMatching(/^[ \t]{1,3}$/);
    const good = fc.tuple(scheme, gap, fc.stringMatching(/^[ \t]{0,2}$/)).map(([s, g, t]) => ({ header: `${s}${g}${TOKEN}${t}`, ok: true }));
    const bad = fc.oneof(
      fc.constantFrom(undefined, '', ' ', 'Bearer', 'Bearer ', TOKEN, `Bearer${TOKEN}`, `Bearer  ${TOKEN} x`, `Bearer ${TOKEN},Bearer ${TOKEN}`, `Basic ${TOKEN}`, `Token ${TOKEN}`,
        `Bearer: ${TOKEN}`, `Bearer\u00a0${TOKEN}`, `Bearer ${TOKEN}\u00a0`, `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}`, `Basic ${Buffer.from(TOKEN).toString('base64')}`,
        `Bearer ${Buffer.from(TOKEN).toString('base64')}`, `Bearer "${TOKEN}"`),
      fc.tuple(scheme, fc.nat({ max: TOKEN.length - 1 })).map(([s, i]) => `${s} ${TOKEN.slice(0, i)}`),
      fc.tuple(scheme, fc.nat({ max: TOKEN.length - 1 })).filter(([, i]) => /[a-z]/i.test(TOKEN[i]!)).map(([s, i]) => `${s} ${flip(TOKEN, i)}`),
      fc.tuple(scheme, fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 3 })).map(([s, extra]) => `${s} ${TOKEN}${headerSafe(extra).replace(/[ \t]/g, 'x')}`),
      fc.string({ unit: 'binary-ascii', maxLength: 60 }).map(headerSafe),
    ).map((header) => ({ header, ok: false }));
    await fc.assert(fc.asyncProperty(fc.oneof(good, bad), fc.constantFrom('length' as const, 'chunked' as const), async ({ header, ok }, framing) => {
      // Valid JSON but not a valid payload: authenticated requests get 400 (nothing is written either way).
      const headers: [string, string][] = [['Content-Type', 'application/json'], ...(header === undefined ? [] : [['Authorization', header] as [string, string]])];
      const res = await post(JSON.stringify({ version: '3' }), framing, headers);
      expect(res.status, `${JSON.stringify(header)}: ${res.body}`).toBe(ok ? 400 : 401);
    }), params(300));
    expectStoreUnchanged();
  }, 120_000);

  it('basic auth in every form: only the configured user:password gets past 401', async () => {
    const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
    const good = fc.tuple(fc.constantFrom('Basic', 'basic', 'BASIC'), fc.stringMatching(/^[ \t]{1,2}$/)).map(([s, g]) => ({ header: `${s}${g}${b64(`alertmanager:${PASSWORD}`)}`, ok: true }));
    const bad = fc.oneof(
      fc.constantFrom(undefined, '', 'Basic', 'Basic ', `Bearer ${PASSWORD}`, `Bearer ${b64(`alertmanager:${PASSWORD}`)}`, `Basic ${b64(PASSWORD)}`, `Basic ${b64(`alertmanager:${PASSWORD}:`)}`,
        `Basic ${b64(`alertmanager${PASSWORD}`)}`, `Basic ${b64(`:${PASSWORD}`)}`, `Basic ${b64('alertmanager:')}`, `Basic alertmanager:${PASSWORD}`, `Basic ${b64(`Alertmanager:${PASSWORD}`)}`),
      fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })).filter(([u, pw]) => u !== 'alertmanager' || pw !== PASSWORD).map(([u, pw]) => `Basic ${b64(`${u}:${pw}`)}`),
      fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => `Basic ${headerSafe(s)}`),
    ).map((header) => ({ header, ok: false }));
    await fc.assert(fc.asyncProperty(fc.oneof(good, bad), async ({ header, ok }) => {
      const headers: [string, string][] = [['Content-Type', 'application/json'], ...(header === undefined ? [] : [['Authorization', header] as [string, string]])];
      const res = await post(JSON.stringify({ version: '3' }), 'length', headers, basic.url);
      expect(res.status, `${JSON.stringify(header)}: ${res.body}`).toBe(ok ? 400 : 401);
    }), params(200));
    expect(basic.healer.sqlite!.listAudit({})).toEqual([]);
  }, 120_000);

  it('a missing, empty or non-JSON Content-Type: 415', async () => {
    const type = fc.oneof(fc.constantFrom(undefined, '', ' ', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'json', 'text/json'),
      fc.stringMatching(/^[a-z]{1,10}\/[a-z.+-]{1,12}$/).filter((t) => !/^application\/([\w.!#$&^-]+\+)?json$/.test(t)));
    await fc.assert(fc.asyncProperty(payloadArb, type, fc.constantFrom('length' as const, 'chunked' as const), async (p, contentType, framing) => {
      const headers: [string, string][] = [['Authorization', `Bearer ${TOKEN}`], ...(contentType === undefined ? [] : [['Content-Type', contentType] as [string, string]])];
      const res = await post(JSON.stringify(p), framing, headers);
      expect(res.status, `${JSON.stringify(contentType)}: ${res.body}`).toBe(415);
    }), params(100));
    expectStoreUnchanged();
  }, 120_000);
});

describe('hostile but valid input: accepted and stored exactly as sent', () => {
  it('any Unicode, NUL, SQL, template syntax, prototype-sounding names: 200, labels and annotations stored verbatim', async () => {
    const protoName = fc.constantFrom('constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString');
    const seen = new Set<number>(incidentsBefore.map((i) => i.id));
    await fc.assert(fc.asyncProperty(payloadArb, fc.dictionary(protoName, hostileString, { maxKeys: 3 }), fc.jsonValue({ maxDepth: 2 }).filter((v) => !JSON.stringify(v).includes('"__proto__"')), async (generated, extra, junk) => {
      const p = fresh(generated);
      for (const a of p.alerts as Json[]) a.fingerprint = nextFingerprint();
      const a = (p.alerts as Json[])[0]!;
      a.labels = { ...(a.labels as Json), ...extra };
      a.annotations = { ...(a.annotations as Json), ...extra };
      // Unknown fields (here with prototype-sounding names) are tolerated and ignored, as forward compatibility asks.
      const body = JSON.stringify({ ...p, constructor: { prototype: { polluted: junk } } });
      const sent = JSON.parse(body) as { alerts: { fingerprint: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }[] };
      const res = await post(body);
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ status: 'success', received: sent.alerts.length });
      const stored = svc.healer.sqlite!.listIncidents({ limit: 100_000 }).filter((i) => !seen.has(i.id));
      expect(stored).toHaveLength(sent.alerts.length);
      for (const i of stored) seen.add(i.id);
      for (const a of sent.alerts) {
        const row = stored.find((i) => i.fingerprint === a.fingerprint);
        expect(row, a.fingerprint).toBeDefined();
        expect(JSON.parse(row!.labels)).toStrictEqual(a.labels);
        expect(JSON.parse(row!.annotations)).toStrictEqual(a.annotations);
        expect(row!.service).toBe(Object.hasOwn(a.labels, 'service') ? a.labels.service : null);
        expect(row!.starts_at).toBe(a.startsAt);
        // Exactly one audit row per new occurrence (received or resolved), not half of one.
        expect(svc.healer.sqlite!.listAudit({ incidentId: row!.id }).filter((r) => r.event === 'received' || r.event === 'resolved')).toHaveLength(1);
      }
    }), params(100));
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    await svc.healer.engine.idle();
    // The earlier log is still there, unchanged, before the new rows.
    const audit = svc.healer.sqlite!.listAudit({ limit: 100_000 });
    expect(audit.slice(audit.length - auditBefore.length)).toEqual(auditBefore);
    // And the read API serves what was stored.
    const api = await fetch(`${svc.url}/api/v1/incidents?limit=100000`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { data: unknown[] }).data).toHaveLength(seen.size);
    expect(svc.healer.sqlite!.db.pragma('integrity_check', { simple: true })).toBe('ok');
  }, 180_000);

  it('a payload the store refuses at any alert is recorded not at all (500, Alertmanager retries) and the rest of the log is unchanged', async () => {
    const store = svc.healer.sqlite!;
    store.db.exec(`CREATE TRIGGER poison BEFORE INSERT ON incidents WHEN NEW.labels LIKE '%"poison"%' BEGIN SELECT RAISE(ABORT, 'refused (simulated)'); END;`);
    try {
      await fc.assert(fc.asyncProperty(payloadArb, fc.nat(), async (generated, which) => {
        const p = fresh(generated);
        const alerts = p.alerts as Json[];
        for (const a of alerts) a.fingerprint = nextFingerprint();
        const victim = alerts[which % alerts.length]!;
        victim.labels = { ...(victim.labels as Json), poison: 'yes' };
        const auditBeforeThis = store.listAudit({ limit: 100_000 });
        const incidentsBeforeThis = store.listIncidents({ limit: 100_000 });
        const res = await post(JSON.stringify(p));
        expect(res.status, res.body).toBe(500);
        expect(store.listAudit({ limit: 100_000 })).toEqual(auditBeforeThis);
        expect(store.listIncidents({ limit: 100_000 })).toEqual(incidentsBeforeThis);
      }), params(40));
    } finally {
      store.db.exec('DROP TRIGGER poison');
    }
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((await fetch(`${svc.url}/-/ready`)).status).toBe(200);
  }, 120_000);
});
