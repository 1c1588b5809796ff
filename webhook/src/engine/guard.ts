// The guard stage, before the claim: a deferred action waits for its guardrail to lift; an alert that resolved
// meanwhile ends the step; the blast-radius precondition (PromQL, asynchronous) must hold. The guardrails read
// from the store (pause, cooldown, rate limits, maxConcurrent) are checked by the claim, in its transaction.
import { errorMessage } from '../actuators/types.js';
import { render } from '../util/template.js';
import { waitDeferred } from './defer.js';
import { drop, skip } from './skip.js';
import { promqlEscape } from '../util/promql.js';
import type { Announce, Deferral, Stage } from './stage.js';

/** What the guard and the claim carry between attempts: the pending `matched` record and the deferral, if any. */
export interface Admission {
  announce?: Announce;
  deferral?: Deferral;
}

export const guard: Stage<Admission, Admission> = async (ctx, s, { announce: pending, deferral }) => {
  const { store, prometheus } = ctx.d;
  const { inc, plan } = s;
  let announce = pending;
  if (deferral && (await waitDeferred(ctx, inc.id, deferral)) === 'resolved') return { end: await drop(ctx, s) };
  ctx.checkStopped();
  if ((await store.incident(inc.id))?.resolved_at) {
    return { end: deferral ? await drop(ctx, s) : await skip(ctx, s, 'the alert resolved before the action started', announce) };
  }
  // Blast-radius guard (asynchronous): fail safe, an unanswerable precondition blocks the action.
  if (plan.rule.precondition && !ctx.d.simulate) {
    if (announce) await store.updateIncident(inc.id, announce.update, announce.event); // before waiting on Prometheus, so the audit keeps its order
    announce = undefined;
    if (!prometheus) return { end: await skip(ctx, s, 'blast-radius precondition set but no prometheus.url configured', undefined, 'blast_radius') };
    const q = render(plan.rule.precondition, s.vars, promqlEscape);
    let holds: boolean;
    try {
      holds = await prometheus.holds(q, ctx.signal);
    } catch (err) {
      ctx.checkStopped();
      return { end: await skip(ctx, s, `blast-radius precondition could not be evaluated: ${errorMessage(err)}`, undefined, 'blast_radius') };
    }
    ctx.checkStopped();
    if (!holds) return { end: await skip(ctx, s, `blast-radius guard: precondition ${q} does not hold`, undefined, 'blast_radius') };
  }
  return { next: { announce, deferral } };
};
