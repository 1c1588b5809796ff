// One demo workload per test file: started before its tests, stopped after them, and reset to its start state
// before every test (cheap when nothing changed: healthy instances are kept). Call at a test file's top level.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startWorkload, type Workload, type WorkloadOptions } from '../../src/index.js';

/** Returns the running workload (throws when called before the file's tests start). */
export function useWorkload(services: NonNullable<WorkloadOptions['services']>): () => Workload {
  let workload: Workload | undefined;
  const current = (): Workload => {
    if (workload === undefined) throw new Error('the demo workload is not running: useWorkload() is called at a test file\'s top level and read inside tests');
    return workload;
  };
  beforeAll(async () => {
    workload = await startWorkload({ services });
  });
  afterAll(async () => {
    await workload?.stop();
  });
  beforeEach(async () => {
    await fetch(`${current().url}/admin/reset`, { method: 'POST' });
  });
  return current;
}
