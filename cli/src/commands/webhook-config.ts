// Loads the healing service's config for a command; a bad file is reported (naming the key) and sets exit code 1.
import { ConfigError } from '@selfheal/contracts';
import { loadConfig } from '@selfheal/webhook';

export function loadWebhookConfigOrReport(path: string): ReturnType<typeof loadConfig> | undefined {
  try {
    return loadConfig(path);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : String(err));
    process.exitCode = 1;
    return undefined;
  }
}
