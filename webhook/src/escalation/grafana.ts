// Optional Grafana annotations for each action (POST /api/annotations with a service-account token).
import { readFileSync } from 'node:fs';
import axios from 'axios';

export class GrafanaAnnotator {
  private readonly token: string;

  constructor(private readonly config: { url: string; tokenFile: string; tags: string[]; timeout: number }) {
    this.token = readFileSync(config.tokenFile, 'utf8').trim();
  }

  async annotate(text: string, tags: string[], timeMs = Date.now()): Promise<void> {
    const res = await axios.post(`${this.config.url.replace(/\/$/, '')}/api/annotations`, { time: timeMs, tags: [...this.config.tags, ...tags], text }, {
      headers: { authorization: `Bearer ${this.token}` }, timeout: this.config.timeout * 1000, validateStatus: () => true,
    });
    if (res.status !== 200) throw new Error(`Grafana answered ${res.status}`);
  }
}
