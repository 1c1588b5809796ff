// The HTTP actuator as the registry holds it.
import { ACTIONS } from '@selfheal/contracts';
import { sameCallForEvery } from '../calls.js';
import type { ActuatorModule } from '../types.js';
import { httpActuatorSchema, httpCallSchema } from './config.js';
import { HttpActuator } from './http-actuator.js';

const callSchemas = sameCallForEvery(httpCallSchema, ACTIONS);

export const httpActuator: ActuatorModule<'http', typeof httpActuatorSchema, typeof callSchemas> = {
  type: 'http',
  configSchema: httpActuatorSchema,
  callSchemas,
  create: (config) => new HttpActuator(config),
};
