// Escalation to people: a Slack-compatible incoming webhook ({"text": ...}; Mattermost, Rocket.Chat and
// most chat tools accept the same shape). Sent once per incident, after every action failed.
import { readFileSync } from 'node:fs';
import axios from 'axios';

export interface NotifyConfig {
  url?: string;
  urlFile?: string;
  timeout: number;
}

export class Notifier {
  private readonly url: string;

  constructor(private readonly config: NotifyConfig) {
    this.url = config.url ?? readFileSync(config.urlFile ?? '', 'utf8').trim();
  }

  async send(text: string, fields: Record<string, string>): Promise<void> {
    const body = {
      text,
      attachments: [{ color: 'danger', fields: Object.entries(fields).map(([title, value]) => ({ title, value, short: value.length < 40 })) }],
    };
    const res = await axios.post(this.url, body, { timeout: this.config.timeout * 1000, validateStatus: () => true });
    if (res.status < 200 || res.status >= 300) throw new Error(`notification webhook answered ${res.status}`);
  }
}
