// The Kubernetes actuator as the registry holds it: the client library is loaded when the first action runs.
import { kubernetesActionSchemas, kubernetesActuatorSchema, kubernetesTargetSchema } from './config.js';
import { LazyKubernetesActuator } from './lazy.js';
import type { ActuatorModule } from '../types.js';

export const kubernetesActuator: ActuatorModule<'kubernetes', typeof kubernetesActuatorSchema, typeof kubernetesActionSchemas> & { targetSchema: typeof kubernetesTargetSchema } = {
  type: 'kubernetes',
  configSchema: kubernetesActuatorSchema,
  callSchemas: kubernetesActionSchemas,
  /** A target of a Kubernetes actuator names its workload under `kubernetes:`. */
  targetSchema: kubernetesTargetSchema,
  create: (config) => new LazyKubernetesActuator(config),
};
