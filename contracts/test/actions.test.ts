// The healing service's vocabulary: every outcome is an action status, and the guardrail sets are consistent.
import { describe, expect, it } from 'vitest';
import { ACTION_STATUSES, EXECUTED_STATUSES, GUARDRAILS, INCIDENT_PHASES, LIFTING_GUARDRAILS, OUTCOMES } from '../src/index.js';

describe('actions vocabulary', () => {
  it('records every outcome as an action status, and counts only statuses as executed', () => {
    for (const outcome of OUTCOMES) expect(ACTION_STATUSES).toContain(outcome);
    for (const status of EXECUTED_STATUSES) expect(ACTION_STATUSES).toContain(status);
    expect(EXECUTED_STATUSES).not.toContain('deferred');
  });

  it('lists lifting guardrails among the guardrails, and deferred among the incident phases', () => {
    for (const guardrail of LIFTING_GUARDRAILS) expect(GUARDRAILS).toContain(guardrail);
    expect(INCIDENT_PHASES).toContain('deferred');
  });
});
