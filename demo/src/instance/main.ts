// Entry point of an instance child process (forked by the supervisor with an IPC channel).
import type { AddressInfo } from 'node:net';
import { createInstanceApp } from './app.js';
import type { InstanceMessage, InstanceStartConfig, SupervisorMessage } from './protocol.js';

function send(message: InstanceMessage): void {
  process.send?.(message);
}

const raw = process.env.SELFHEAL_DEMO_INSTANCE;
if (!raw || !process.send) {
  console.error('demo instance: start me through the workload supervisor (needs SELFHEAL_DEMO_INSTANCE and IPC)');
  process.exit(2);
}
const config = JSON.parse(raw) as InstanceStartConfig;
const instance = createInstanceApp(config);
const server = instance.app.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
server.keepAliveTimeout = 30_000;

function shutdown(): void {
  instance.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('message', (message: SupervisorMessage) => {
  switch (message.type) {
    case 'settings':
      instance.applySettings(message.settings);
      break;
    case 'faults':
      instance.applyFaults(message.faults);
      break;
    case 'metrics':
      instance.registry.getMetricsAsJSON().then(
        (metrics) => send({ type: 'metrics', requestId: message.requestId, metrics }),
        (error: unknown) => send({ type: 'error', message: String(error) }),
      );
      break;
    case 'shutdown':
      shutdown();
      break;
  }
});
// The supervisor went away: never outlive it.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', shutdown);
