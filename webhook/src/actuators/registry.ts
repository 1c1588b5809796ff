// Every actuator type, in one place: the config schema builds `actuators:` and checks targets' parameters from
// here, the policy validates a step's parameters here, and the service makes its actuators here. A new actuator
// is a folder exporting an ActuatorModule, added to the list below.
import { z } from 'zod';
import type { ActionName } from '@selfheal/contracts';
import { execActuator } from './exec/index.js';
import { httpActuator } from './http/index.js';
import { kubernetesActuator } from './kubernetes/index.js';
import type { Actuator } from './types.js';

export const ACTUATORS = [kubernetesActuator, httpActuator, execActuator] as const;

export type ActuatorType = (typeof ACTUATORS)[number]['type'];

/** An actuator's settings under `actuators.NAME`, by its `type`. */
export const actuatorConfigSchema = z.discriminatedUnion('type', [kubernetesActuator.configSchema, httpActuator.configSchema, execActuator.configSchema], {
  error: `actuator type must be ${ACTUATORS.map((m) => m.type).join(', ').replace(/, (?=[^,]*$)/, ' or ')}`,
});
export type ActuatorConfig = z.output<typeof actuatorConfigSchema>;

/** Settings a target gives its actuator, by key (a Kubernetes target names its workload). */
export const targetSettingsSchemas = { kubernetes: kubernetesActuator.targetSchema.optional() };

/** The parameter schema of `action` on an actuator type. */
export function actionParamsSchema(type: ActuatorType, action: ActionName): z.ZodType {
  const module = ACTUATORS.find((m) => m.type === type);
  if (!module) throw new Error(`unknown actuator type ${String(type)}`);
  return module.callSchemas[action];
}

/** The configured actuators by name (`actuators:`); an override replaces the one of that name. */
export function createActuators(configs: Readonly<Record<string, ActuatorConfig>>, overrides?: ReadonlyMap<string, Actuator>): Map<string, Actuator> {
  const out = new Map<string, Actuator>();
  for (const [name, a] of Object.entries(configs)) out.set(name, overrides?.get(name) ?? createActuator(a));
  return out;
}

/** An actuator made from its config. Its calls are typed by its own schemas; the policy validated them with those. */
export function createActuator(config: ActuatorConfig): Actuator {
  switch (config.type) {
    case 'kubernetes': return kubernetesActuator.create(config);
    case 'http': return httpActuator.create(config);
    case 'exec': return execActuator.create(config);
  }
}
