// The pause switch: API (durable, in the store), a file whose existence pauses, and a start-up flag.
import { existsSync } from 'node:fs';
import type { HealingStore } from '../store/store.js';

export interface PauseState {
  paused: boolean;
  source?: 'api' | 'file' | 'flag';
  reason?: string;
  since?: string;
}

export class PauseSwitch {
  constructor(private readonly store: HealingStore, private readonly file?: string, private readonly flag = false) {}

  state(): PauseState {
    if (this.flag) return { paused: true, source: 'flag', reason: 'started with --paused' };
    if (this.file && existsSync(this.file)) return { paused: true, source: 'file', reason: `pause file ${this.file} exists` };
    const saved = this.store.getSetting('pause');
    if (saved) {
      const s = JSON.parse(saved) as PauseState;
      if (s.paused) return { ...s, source: 'api' };
    }
    return { paused: false };
  }

  set(paused: boolean, reason: string | undefined): PauseState {
    const state: PauseState = { paused, reason, since: new Date().toISOString() };
    this.store.putSetting('pause', JSON.stringify(state), { event: paused ? 'paused' : 'unpaused', reason });
    return this.state();
  }
}
