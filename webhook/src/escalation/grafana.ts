// Optional Grafana annotations for each action (POST /api/annotations with a service-account token).
import { readFile } from 'node:fs/promises';
import axios from 'axios';

export class GrafanaAnnotator {
  constructor(private readonly config: { url: string; tokenFile: string; tags: string[]; timeout: number }) {}

  async annotate(text: string, tags: string[], timeMs = Date.now()): Promise<void> {
    // Read per call so a rotated token is picked up (the file's presence is checked at start-up).
    const token = (await readFile(this.config.tokenFile, 'utf8')).trim();
    const res = await axios.post(`${this.config.url.replace(/\/$/, '')}/api/annotations`, { time: timeMs, tags: [...this.config.tags, ...tags], text }, {
      headers: { authorization: `Bearer ${token}` }, timeout: this.config.timeout * 1000, validateStatus: () => true,
    });
    if (res.status !== 200) throw new Error(`Grafana answered ${res.status}`);
  }
}
