// One step of a plan through the stages: guard -> claim (again after each deferral) -> act -> verify.
import type { IncidentRow } from '../audit/types.js';
import type { Plan } from '../policy/policy.js';
import type { TemplateVars } from '../util/template.js';
import { act } from './act.js';
import { approval } from './approval.js';
import { claim, type Claim } from './claim.js';
import { guard, type Admission } from './guard.js';
import { demotedMode, judgeOutcome } from './efficacy.js';
import { skip } from './skip.js';
import type { EngineContext, StepResult, StepRun } from './stage.js';
import { verify } from './verify.js';

export async function runStep(ctx: EngineContext, inc: IncidentRow, plan: Plan, step: number, baseVars: TemplateVars, first: Admission): Promise<StepResult> {
  const planned = plan.steps[step];
  if (!planned) return 'failed';
  const { action } = planned;
  const service = inc.service ?? plan.targetName;
  const vars: TemplateVars = { ...baseVars, action, target: plan.targetName };
  const actuator = ctx.d.actuators.get(plan.target.actuator);
  if (!actuator) return skip(ctx, { inc, plan, step, action, service }, `actuator "${plan.target.actuator}" is not available`, first.announce);
  const run: StepRun = { inc, plan, step, planned, action, service, vars, actuator };
  // An action demoted on this target (its success rate fell below the efficacy floor) waits for approval there.
  const { mode, demotion } = await demotedMode(ctx, plan.targetName, planned);
  if (demotion) run.demotion = demotion;

  // approve mode: a person decides first; the guard and the claim below then check the guardrails as they are now.
  // An approval already asked for is honoured even if the config no longer asks for one (restarted with another mode).
  let admission = first;
  if (mode === 'approve' || (inc.phase === 'awaiting_approval' && inc.step === step)) {
    const approved = await approval(ctx, run, first);
    if ('end' in approved) return approved.end;
    admission = approved.next;
  }
  // Decided again each time a deferral ends, until the action runs, is given up, or its alert resolves.
  let claimed: Extract<Claim, { kind: 'claimed' }>;
  for (;;) {
    const guarded = await guard(ctx, run, admission);
    if ('end' in guarded) return guarded.end;
    const c = await claim(ctx, run, guarded.next);
    if ('end' in c) return c.end;
    if (c.next.kind === 'claimed') {
      claimed = c.next;
      break;
    }
    admission = { deferral: c.next.deferral };
  }
  const applied = await act(ctx, run, claimed);
  if ('end' in applied) return judgeOutcome(ctx, run, applied.end);
  return judgeOutcome(ctx, run, (await verify(ctx, run, applied.next)).end);
}
