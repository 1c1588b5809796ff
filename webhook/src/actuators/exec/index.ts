// The exec actuator as the registry holds it.
import { ACTIONS } from '@selfheal/contracts';
import { sameCallForEvery } from '../calls.js';
import type { ActuatorModule } from '../types.js';
import { execActuatorSchema, execCallSchema } from './config.js';
import { ExecActuator } from './exec-actuator.js';

const callSchemas = sameCallForEvery(execCallSchema, ACTIONS);

export const execActuator: ActuatorModule<'exec', typeof execActuatorSchema, typeof callSchemas> = {
  type: 'exec',
  configSchema: execActuatorSchema,
  callSchemas,
  create: (config) => new ExecActuator(config),
};
