// Escalation to people: a Slack-compatible incoming webhook ({"text": ...}; Mattermost, Rocket.Chat and
// most chat tools accept the same shape). Sent once per incident, after every action failed.
import { readFile } from 'node:fs/promises';
import axios from 'axios';

export interface NotifyConfig {
  url?: string;
  urlFile?: string;
  timeout: number;
}

export class Notifier {
  constructor(private readonly config: NotifyConfig) {}

  async send(text: string, fields: Record<string, string>): Promise<void> {
    const body = {
      text,
      attachments: [{ color: 'danger', fields: Object.entries(fields).map(([title, value]) => ({ title, value, short: value.length < 40 })) }],
    };
    // The URL is a secret too (it carries the token): read per message so rotation needs no restart.
    const url = this.config.url ?? (await readFile(this.config.urlFile ?? '', 'utf8')).trim();
    const res = await axios.post(url, body, { timeout: this.config.timeout * 1000, validateStatus: () => true });
    if (res.status < 200 || res.status >= 300) throw new Error(`notification webhook answered ${res.status}`);
  }
}
