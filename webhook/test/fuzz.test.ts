// 10,000 malformed or hostile payloads over real HTTP: only 4xx, no crash, the audit log intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payload, startHealer, TOKEN, type TestHealer } from './support/harness.js';

const N = Number(process.env.FUZZ_N ?? 10_000);

/** Deterministic PRNG (mulberry32) so a failure can be reproduced. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_VALUES: unknown[] = [null, 0, -1, 1e308, true, [], {}, '', 'x'.repeat(5000), { __proto__: { polluted: 1 } }, [[[[[]]]]], '\u0000', '\ud800', '${jndi:ldap://x}', '<script>', "'; DROP TABLE audit; --"];

type Mutation = (p: Record<string, unknown>, r: () => number) => { body: string; contentType?: string };

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const alert0 = (p: Record<string, unknown>) => (p.alerts as Record<string, unknown>[])[0] as Record<string, unknown>;
const json = (p: unknown) => ({ body: JSON.stringify(p) });

// Every mutation makes the payload invalid (so the only right answers are 4xx).
const MUTATIONS: Mutation[] = [
  (p, r) => json({ ...p, version: pick(r, ['3', '5', 4, '', null, ' 4', '4 ', 'four']) }),
  (p) => { const { version: _v, ...rest } = p; return json(rest); },
  (p) => { const { alerts: _a, ...rest } = p; return json(rest); },
  (p, r) => json({ ...p, alerts: pick(r, HOSTILE_VALUES.filter((v) => !Array.isArray(v) || (v as unknown[]).length > 0)) }),
  (p, r) => json({ ...p, status: pick(r, ['fired', 'FIRING', 1, null, 'pending']) }),
  (p, r) => { alert0(p).status = pick(r, ['ok', '', null, 7, 'Resolved']); return json(p); },
  (p, r) => { alert0(p).startsAt = pick(r, ['now', '', 12, null, '2026-13-45T99:99:99Z', 'x'.repeat(100)]); return json(p); },
  (p, r) => { alert0(p).labels = pick(r, [null, [], 'service=checkout', 5]); return json(p); },
  (p, r) => { (alert0(p).labels as Record<string, unknown>).service = pick(r, HOSTILE_VALUES.filter((v) => typeof v !== 'string' || v.length > 4096)); return json(p); },
  (_p, r) => {
    const name = pick(r, ['__proto__', 'constructor.prototype', 'a-b', '', '1abc', 'x y', '__name__', 'é']);
    return { body: `{"version":"4","status":"firing","alerts":[{"status":"firing","startsAt":"2026-11-23T22:00:00Z","labels":{${JSON.stringify(name)}:"x"}}]}` };
  },
  (p, r) => { alert0(p).fingerprint = pick(r, ['../../etc', 'a b', 'x'.repeat(200), 5, '']); return json(p); },
  (p, r) => { const s = JSON.stringify(p); return { body: s.slice(0, Math.floor(r() * (s.length - 1))) }; },
  (_p, r) => ({ body: Array.from({ length: 1 + Math.floor(r() * 200) }, () => String.fromCharCode(Math.floor(r() * 256))).join('') + '{' }),
  (_p, r) => ({ body: JSON.stringify(pick(r, [null, 42, 'x', [], [payload([{}])], true])) }),
  (_p, r) => ({ body: '['.repeat(1 + Math.floor(r() * 5000)) + ']'.repeat(Math.floor(r() * 10)) }),
  (p) => ({ body: JSON.stringify(p), contentType: 'text/plain' }),
  (p, r) => ({ body: JSON.stringify(p), contentType: pick(r, ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) }),
  (p) => { alert0(p).annotations = { description: 'y'.repeat(70_000) }; return json(p); },
  (p) => { (p as { alerts: unknown[] }).alerts = Array.from({ length: 600 }, () => alert0(p)); alert0(p).annotations = { d: 'z'.repeat(2000) }; return json(p); },
  (p) => { (p.alerts as unknown[]).push(null); return json(p); },
];

let svc: TestHealer;
beforeAll(async () => {
  svc = await startHealer({ rules: [] });
});
afterAll(async () => { await svc.close(); });

describe('fuzz', () => {
  it(`answers ${N} malformed or hostile payloads with 4xx only, keeps running and keeps the audit intact`, async () => {
    // A real incident first: its audit rows must survive the storm unchanged.
    expect((await svc.post(payload([{}]))).status).toBe(200);
    await svc.healer.engine.idle();
    const auditBefore = svc.healer.sqlite!.listAudit({});
    const r = rng(20261123);
    const statuses = new Map<number, number>();
    const offenders: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < N) {
        const i = next++;
        const m = MUTATIONS[i % MUTATIONS.length]!;
        const { body, contentType } = m(structuredClone(payload([{}])), r);
        const res = await fetch(`${svc.url}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType ?? 'application/json' }, body });
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if ((res.status < 400 || res.status >= 500) && offenders.length < 5) offenders.push(`#${i} mutation ${i % MUTATIONS.length} -> ${res.status} ${text.slice(0, 200)} for ${body.slice(0, 200)}`);
        else if (res.status === 400) expect(JSON.parse(text)).toHaveProperty('error');
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(offenders).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(N);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    expect(({}) as Record<string, unknown>).not.toHaveProperty('polluted');
    // Still healthy, nothing recorded from the storm, the earlier log unchanged and the database sound.
    expect((await fetch(`${svc.url}/-/healthy`)).status).toBe(200);
    expect(svc.healer.sqlite!.listAudit({})).toEqual(auditBefore);
    expect(svc.healer.sqlite!.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((await svc.post(payload([{ fingerprint: 'ffff' }]))).body).toMatchObject({ new: 1 });
  }, 400_000);
});
