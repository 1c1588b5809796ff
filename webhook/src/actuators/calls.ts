// An actuator's calls: each action with its parameters, typed from the actuator's parameter schemas.
import type { z } from 'zod';
import type { ActionName } from '@selfheal/contracts';

/** An action with its parameters, already validated against the actuator's call schema for that action. */
export interface ActionCall<P = unknown, A extends ActionName = ActionName> {
  action: A;
  params: P;
}

/** The parameter schema of each action an actuator takes. */
export type CallSchemas = { readonly [A in ActionName]: z.ZodType };

/** The calls an actuator takes, typed from its call schemas: `{action: 'restart', params: ...} | ...`. */
export type CallsOf<S extends CallSchemas> = { [A in ActionName]: ActionCall<z.output<S[A]>, A> }[ActionName];

/** Every action takes the same parameters (HTTP calls, exec commands). */
export function sameCallForEvery<Z extends z.ZodType>(schema: Z, actions: readonly ActionName[]): { readonly [A in ActionName]: Z } {
  return Object.fromEntries(actions.map((a) => [a, schema])) as { readonly [A in ActionName]: Z };
}
