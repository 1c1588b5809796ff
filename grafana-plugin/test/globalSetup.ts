// Once per test run: a token that lets the test files needing the production build (browser, archive) share one
// build instead of running webpack over dist/ at the same time (see harness/buildOnce.ts).
import { randomUUID } from 'node:crypto';

import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject): void {
  project.provide('pluginBuildRun', randomUUID());
}

declare module 'vitest' {
  export interface ProvidedContext {
    pluginBuildRun: string;
  }
}
