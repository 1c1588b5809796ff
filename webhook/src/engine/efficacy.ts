// The efficacy ledger in the engine: an action demoted on a target (its success rate there fell below the floor,
// efficacy.demoteBelow) runs in approve mode there, whatever the policy says, until a person lifts the demotion
// (shadow stays shadow: it never acts anyway); and after an action fails, the ledger decides whether to demote it.
import type { TrustMode } from '@selfheal/contracts';
import { errorMessage } from '../actuators/types.js';
import { ledgerOf } from '../ledger/ledger.js';
import type { PlannedStep } from '../policy/policy.js';
import { demotionNotice, type DemotionFacts } from '../escalation/demotion-notice.js';
import type { EngineContext, StepResult, StepRun } from './stage.js';

/** The step's mode with its demotion applied; `demotion`: why it waits for approval. */
export async function demotedMode(ctx: EngineContext, target: string, planned: PlannedStep): Promise<{ mode: TrustMode; demotion?: string }> {
  // Replay simulates the policy as written; a demotion recorded while demoteBelow was set stands until a person lifts it.
  if (planned.mode !== 'auto' || ctx.d.simulate) return { mode: planned.mode };
  const demotion = await ledgerOf(ctx.d.store).active(target, planned.action);
  return demotion ? { mode: 'approve', demotion: demotion.reason } : { mode: planned.mode };
}

/** After a step ended: a failure (or unknown outcome) may bring the action's success rate below the floor. */
export async function judgeOutcome(ctx: EngineContext, s: StepRun, result: StepResult): Promise<StepResult> {
  if ((result !== 'failed' && result !== 'unknown') || ctx.d.simulate) return result;
  const { config, store, logger } = ctx.d;
  try {
    const demotion = await ledgerOf(store).evaluate(config.efficacy, s.plan.targetName, s.action, ctx.now());
    if (demotion) {
      logger.warn({ target: demotion.target, action: demotion.action, attempts: demotion.attempts, successes: demotion.successes }, `action demoted to approve mode: ${demotion.reason}`);
      await tellPeople(ctx, demotion, s);
    }
  } catch (err) {
    // The ledger is advice: a failed look at it is logged and retried at the next failure; the incident goes on.
    logger.warn({ err: errorMessage(err), target: s.plan.targetName, action: s.action }, 'could not evaluate the efficacy of the action');
  }
  return result;
}

/** The demotion through the escalation webhook, when one is configured; a failure to send is logged (the demotion stands). */
async function tellPeople(ctx: EngineContext, demotion: DemotionFacts, s: StepRun): Promise<void> {
  const { notifier, config, logger } = ctx.d;
  if (!notifier) return;
  const notice = demotionNotice(config, demotion, s.service);
  try {
    await notifier.send(notice.text, notice.fields);
  } catch (err) {
    logger.warn({ err: errorMessage(err), target: demotion.target, action: demotion.action }, 'could not send the demotion notice');
  }
}
