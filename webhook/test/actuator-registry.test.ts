// The actuator registry: every actuator type is declared once ({type, configSchema, callSchemas, create}) and the
// config schema, the policy and the service take actuators from it.
import { describe, expect, it } from 'vitest';
import { ACTIONS } from '@selfheal/contracts';
import { ACTUATORS, actionParamsSchema, createActuators } from '../src/actuators/registry.js';
import { parseConfig } from '../src/config/load.js';

describe('actuator registry', () => {
  it('declares each type once, with a parameter schema for every action', () => {
    expect(ACTUATORS.map((m) => m.type)).toEqual(['kubernetes', 'http', 'exec']);
    for (const m of ACTUATORS) for (const action of ACTIONS) expect(m.callSchemas[action], `${m.type} ${action}`).toBeDefined();
  });

  it('the config accepts exactly the registered types, naming them when one is unknown', () => {
    expect(() => parseConfig({ auth: 'none', actuators: { x: { type: 'ssh' } } })).toThrow(/actuators\.x\.type: actuator type must be kubernetes, http or exec/);
    const config = parseConfig({ auth: 'none', actuators: { k: { type: 'kubernetes' }, h: { type: 'http' }, e: { type: 'exec' } } });
    const built = createActuators(config.actuators);
    expect([...built].map(([name, a]) => [name, a.type])).toEqual([['k', 'kubernetes'], ['h', 'http'], ['e', 'exec']]);
    // The HTTP actuator's retries reach the retry stage as its policy; the others are called once.
    expect(built.get('h')?.retry).toEqual({ retries: 2, backoff: 0.5 });
    expect(built.get('e')?.retry).toBeUndefined();
  });

  it('validates a step with the actuator type\'s own schema for that action', () => {
    expect(actionParamsSchema('kubernetes', 'scale_up').parse({})).toEqual({ step: 1, maxReplicas: 10, hpa: 'raise-min' });
    expect(actionParamsSchema('http', 'restart').safeParse({ url: 'ftp://x' }).success).toBe(false);
    expect(actionParamsSchema('exec', 'restart').safeParse({ argv: ['/bin/true'] }).success).toBe(true);
  });
});
