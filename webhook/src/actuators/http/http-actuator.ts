// Calls an application's admin API or a runbook-automation service: templated URL, method and JSON body,
// with a timeout and retries on network errors and 5xx.
import { readFile } from 'node:fs/promises';
import { retryWithBackoff, type RetryOptions } from '@selfheal/contracts';
import axios from 'axios';
import { render, renderDeep } from '../../util/template.js';
import { errorMessage, type ActionRequest, type ActionResult, type Actuator } from '../types.js';
import type { HttpActuatorConfig, HttpCall } from './config.js';
import { renderUrl } from './url.js';

export class HttpActuator implements Actuator {
  readonly type = 'http' as const;
  /** `sleep`: the wait between retries (tests inject one that does not wait). */
  constructor(
    private readonly config: HttpActuatorConfig,
    private readonly sleep?: RetryOptions['sleep'],
  ) {}

  /** Read when acting, not at start: a rotated token is picked up, and describe/replay never need the file. */
  private async token(): Promise<string | undefined> {
    if (!this.config.tokenFile) return undefined;
    let token: string;
    try {
      token = (await readFile(this.config.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new Error(`cannot read tokenFile ${this.config.tokenFile}: ${errorMessage(err)}`);
    }
    if (!token) throw new Error(`tokenFile ${this.config.tokenFile} is empty`);
    return token;
  }

  private prepare(req: Omit<ActionRequest, 'signal'>) {
    const call = req.params as HttpCall;
    const url = renderUrl(call.url, req.vars);
    const headers: Record<string, string> = { 'user-agent': 'selfheal-webhook', ...this.config.headers };
    for (const [k, v] of Object.entries(call.headers)) {
      const value = render(v, req.vars);
      if (/[\r\n]/.test(value)) throw new Error(`header ${k}: alert values may not contain line breaks`);
      headers[k] = value;
    }
    const body = call.body === undefined ? undefined : renderDeep(call.body, req.vars);
    return { call, url, headers, body };
  }

  describe(req: Omit<ActionRequest, 'signal'>): string {
    try {
      const { call, url, body } = this.prepare(req);
      return `${call.method} ${url}${body === undefined ? '' : ` ${JSON.stringify(body).slice(0, 500)}`}`;
    } catch (err) {
      return `cannot prepare the call: ${errorMessage(err)}`;
    }
  }

  async execute(req: ActionRequest): Promise<ActionResult> {
    let prepared;
    try {
      prepared = this.prepare(req);
      const token = await this.token();
      if (token) prepared.headers.authorization = `Bearer ${token}`;
    } catch (err) {
      return { outcome: 'failed', reason: `cannot prepare the call: ${errorMessage(err)}` };
    }
    const { call, url, headers, body } = prepared;
    const attempts = this.config.retries + 1;
    let last = '';
    try {
      // Network errors and 5xx are thrown (retried); any other answer is the result.
      return await retryWithBackoff(async (n): Promise<ActionResult> => {
        const attempt = n + 1;
        if (req.signal.aborted) return { outcome: 'failed', reason: 'aborted' };
        let res;
        try {
          res = await axios.request({
            method: call.method, url, headers, data: body, timeout: this.config.timeout * 1000, signal: req.signal,
            validateStatus: () => true, maxRedirects: 0, responseType: 'text', transformResponse: (d: unknown) => d,
          });
        } catch (err) {
          last = `${call.method} ${url}: ${errorMessage(err)}`;
          throw err;
        }
        const ok = call.expectStatus ? call.expectStatus.includes(res.status) : res.status >= 200 && res.status < 300;
        const snippet = String(res.data ?? '').slice(0, 2000);
        if (ok) return { outcome: 'succeeded', reason: `${call.method} ${url} answered ${res.status}`, detail: { status: res.status, attempt, response: snippet } };
        last = `${call.method} ${url} answered ${res.status}: ${snippet.slice(0, 200)}`;
        if (res.status < 500) return { outcome: 'failed', reason: last, detail: { status: res.status, attempt, response: snippet } };
        throw new Error(last);
      }, { retries: this.config.retries, backoffSeconds: this.config.retryBackoff, signal: req.signal, ...(this.sleep ? { sleep: this.sleep } : {}) });
    } catch {
      if (req.signal.aborted) return { outcome: 'failed', reason: 'aborted' };
      return { outcome: 'failed', reason: `${last} (after ${attempts} attempt${attempts > 1 ? 's' : ''})` };
    }
  }
}
