import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MissingBinaryError, requireBinary } from '../src/binaries.js';
import { ManagedProcess, liveProcesses } from '../src/process.js';
import { startStack } from '../src/stack.js';
import { waitFor } from '../src/wait.js';

describe('managed processes', () => {
  it('stops a child that ignores SIGTERM with SIGKILL after the grace period', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'selfheal-process-')), 'stubborn.log');
    const child = new ManagedProcess({
      name: 'stubborn',
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"],
      logFile,
    });
    expect(liveProcesses()).toContain(child);
    // Only once the child has installed its SIGTERM handler does the test mean anything.
    await waitFor(() => readFileSync(logFile, 'utf8').includes('up'), { what: 'the child to start', timeoutMs: 10_000 });
    const exit = await child.stop(300);
    expect(exit.signal).toBe('SIGKILL');
    expect(child.running).toBe(false);
    expect(liveProcesses()).not.toContain(child);
  });

  it('names the Debian package to install when a binary is missing', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => requireBinary({ command: 'prometheus-alertmanager', debianPackage: 'prometheus-alertmanager' })).toThrow(
        'sudo apt-get install -y --no-install-recommends prometheus-alertmanager',
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('refuses to start a stack without the binaries, with one clear error and nothing left running', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startStack()).rejects.toBeInstanceOf(MissingBinaryError);
    } finally {
      process.env.PATH = path;
    }
    expect(liveProcesses()).toEqual([]);
  });

  it('reports a server that exits during start-up with its log', async () => {
    // An invalid extra flag makes the real Prometheus exit at once.
    await expect(startStack({ withAlertmanager: false, prometheusArgs: ['--no-such-flag'] })).rejects.toThrow(
      /prometheus exited during start-up[\s\S]*no-such-flag/,
    );
    expect(liveProcesses()).toEqual([]);
  });
});
