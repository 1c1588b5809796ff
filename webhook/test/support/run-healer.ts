// Runs the healing service from source in a child process (restart/crash tests): argv = config file.
import { loadConfig } from '../../src/config/load.js';
import { createHealer } from '../../src/app.js';

const file = process.argv[2];
if (!file) throw new Error('usage: run-healer CONFIG');
const healer = createHealer(loadConfig(file), { defaultMetrics: false });
const url = await healer.listen();
process.stdout.write(`listening ${url}\n`);
process.once('SIGTERM', () => void healer.close().then(() => process.exit(0)));
