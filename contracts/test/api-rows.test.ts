// The row schemas against answers shaped as the healing service writes them (webhook/src/api/ routes);
// test/api-rows.test.ts checks them against the real service's answers.
import { describe, expect, it } from 'vitest';
import { ApiResponseError, parseActionsResponse, parseAuditResponse, parseIncidentsResponse } from '../src/api/parse.js';

const action = {
  id: 3, incident_id: 2, service: 'checkout', action: 'scale_up', target: 'checkout', rule: 'cpu', step: 0, status: 'succeeded',
  reason: null, detail: { replicas: 4 }, change: { at: '2026-12-07T09:50:00.000Z', revision: '2', source: 'kubernetes' }, started_at: 1700000000.5, finished_at: 1700000002.25, cooldown_until: 1700000300,
};
const incident = {
  id: 2, key: 'k', fingerprint: 'abc', starts_at: '2026-12-07T10:00:00Z', service: 'checkout', alertname: 'SelfhealAnomaly',
  labels: { alertname: 'SelfhealAnomaly', service: 'checkout' }, annotations: { summary: 's' }, phase: 'done', result: 'succeeded',
  reason: null, rule: 'cpu', target: 'checkout', step: 1, notifications: 1, received_at: 1700000000, updated_at: 1700000002,
  resolved_at: null, recovery_seconds: null, owner: null, deferred_until: null, defer_deadline: null,
};
const audit = { id: 9, ts: 1700000000, event: 'matched', incident_id: 2, fingerprint: 'abc', service: 'checkout', action: null, target: null, reason: null, detail: null, change: null };

describe('API row schemas', () => {
  it('read the three endpoints answers into typed rows', () => {
    expect(parseActionsResponse({ status: 'success', data: [action] })).toEqual([action]);
    expect(parseIncidentsResponse({ status: 'success', data: [incident] })).toEqual([incident]);
    expect(parseAuditResponse({ status: 'success', data: [audit] })).toEqual([audit]);
  });

  it('a row that does not match is an error naming the endpoint and the field', () => {
    const bad = () => parseActionsResponse({ status: 'success', data: [action, { ...action, status: 'done' }] });
    expect(bad).toThrow(ApiResponseError);
    expect(bad).toThrow(/^GET \/api\/v1\/actions: data\.1\.status: /);
    expect(() => parseIncidentsResponse({ status: 'success', data: [{ ...incident, step: '1' }] })).toThrow(/data\.0\.step: /);
    // Action names are the contracts' ACTIONS, in the actions and in the audit.
    expect(() => parseActionsResponse({ status: 'success', data: [{ ...action, action: 'reboot' }] })).toThrow(/data\.0\.action: /);
    expect(() => parseAuditResponse({ status: 'success', data: [{ ...audit, action: 'reboot' }] })).toThrow(/data\.0\.action: /);
    expect(() => parseAuditResponse({ status: 'success', data: [{ ...audit, ts: null }] }, 'GET http://x/api/v1/audit')).toThrow(/^GET http:\/\/x\/api\/v1\/audit: data\.0\.ts: /);
  });

  it('a field the API added or dropped is named (the schemas are strict)', () => {
    expect(() => parseActionsResponse({ status: 'success', data: [{ ...action, extra: 1 }] })).toThrow(/data\.0: .*extra/);
    const { cooldown_until: _dropped, ...short } = action;
    expect(() => parseActionsResponse({ status: 'success', data: [short] })).toThrow(/data\.0\.cooldown_until: /);
  });

  it("the service's error answer is an error carrying its message", () => {
    expect(() => parseActionsResponse({ status: 'error', error: 'since: not a time' })).toThrow(/the service answered an error: since: not a time/);
  });
});
