// The pause switch: API (durable, in the store, shared by replicas), a file whose existence pauses, and a
// start-up flag (both local to this process).
import { existsSync } from 'node:fs';
import type { Store } from '../audit/types.js';

export interface PauseState {
  paused: boolean;
  source?: 'api' | 'file' | 'flag';
  reason?: string;
  since?: string;
}

export class PauseSwitch {
  constructor(private readonly store: Store, private readonly file?: string, private readonly flag = false) {}

  /** The pause that applies to this process only (flag, file); the API one is read with the guardrails. */
  local(): PauseState | undefined {
    if (this.flag) return { paused: true, source: 'flag', reason: 'started with --paused' };
    if (this.file && existsSync(this.file)) return { paused: true, source: 'file', reason: `pause file ${this.file} exists` };
    return undefined;
  }

  async state(): Promise<PauseState> {
    const local = this.local();
    if (local) return local;
    const saved = await this.store.getSetting('pause');
    if (saved) {
      const s = JSON.parse(saved) as PauseState;
      if (s.paused) return { ...s, source: 'api' };
    }
    return { paused: false };
  }

  async set(paused: boolean, reason: string | undefined): Promise<PauseState> {
    const state: PauseState = { paused, reason, since: new Date().toISOString() };
    await this.store.putSetting('pause', JSON.stringify(state), { event: paused ? 'paused' : 'unpaused', reason });
    return this.state();
  }
}
