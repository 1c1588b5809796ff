// The message that tells people an action was demoted to approve mode on a target (the efficacy ledger saw its
// success rate fall below the floor), sent through the Slack-compatible escalation webhook: from now on it waits for
// a person there, so the people who approve need to know, and how to lift it once the remedy works again.
import type { Config } from '../config/schema.js';
import { externalBase } from './approval-notice.js';

export interface DemotionFacts {
  readonly target: string;
  readonly action: string;
  readonly attempts: number;
  readonly successes: number;
  readonly reason: string;
}

export function demotionLiftLink(config: Pick<Config, 'externalUrl' | 'listen'>, target: string, action: string): string {
  return `${externalBase(config)}/api/v1/demotions/${encodeURIComponent(target)}/${encodeURIComponent(action)}/lift`;
}

export function demotionNotice(config: Pick<Config, 'externalUrl' | 'listen'>, d: DemotionFacts, service: string): { text: string; fields: Record<string, string> } {
  const lift = demotionLiftLink(config, d.target, d.action);
  const text = `:arrow_down: Selfheal demoted ${d.action} on ${d.target} to approve mode: ${d.reason}. `
    + `To let it run by itself again: POST ${lift} with {"by": "<you>", "reason": "..."}`;
  return {
    text,
    fields: { service, target: d.target, action: d.action, attempts: String(d.attempts), successes: String(d.successes), lift },
  };
}
