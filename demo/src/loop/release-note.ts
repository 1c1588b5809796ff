// What the demo prints after a bad release: the rollout the healing service's decision rested on (its rule and the
// change on the action row) and the revisions the service has now, so the rollback is seen, not just counted.
import type { ClosedLoop } from './closed-loop.js';
import type { FaultRunResult } from './fault-milestones.js';
import { healingActions } from './observe.js';

export async function releaseNote(loop: ClosedLoop, result: FaultRunResult): Promise<string[]> {
  const lines: string[] = [];
  const rows = await healingActions(loop.webhookUrl, loop.webhookToken, result.service).catch(() => []);
  const row = rows.filter((a) => a.started_at * 1000 >= result.injectedAt - 1000 && a.status !== 'deferred').sort((a, b) => a.id - b.id)[0];
  if (row) {
    const change = row.change ? `the rollout at ${row.change.at} (${((Date.parse(row.change.at) - result.injectedAt) / 1000).toFixed(1)} s after the injection, from ${row.change.source})` : 'no rollout recorded';
    lines.push(`decided by rule ${row.rule} on ${change}: ${row.action} ${row.status}`);
  }
  const state = loop.workload.state().find((s) => s.service === result.service);
  if (state) {
    const history = state.revisions.map((r) => `${r.revision} ${r.version} ${r.status.replace('_', ' ')}`).join(', ');
    lines.push(`${result.service} runs revision ${state.revision} (${state.version}); revisions: ${history}`);
  }
  return lines;
}
