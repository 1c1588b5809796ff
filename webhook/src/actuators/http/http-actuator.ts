// Calls an application's admin API or a runbook-automation service: templated URL, method and JSON body,
// with a timeout. A network error or a 5xx answers `retry`: the engine's retry stage tries again (retries,
// retryBackoff).
import { readFile } from 'node:fs/promises';
import axios from 'axios';
import { render, renderDeep } from '../../util/template.js';
import type { ActionCall } from '../calls.js';
import { errorMessage, type ActionRequest, type ActionResult, type Actuator, type DescribeRequest, type RetryPolicy } from '../types.js';
import type { HttpActuatorConfig, HttpCall } from './config.js';
import { renderUrl } from './url.js';

type HttpRequest = DescribeRequest<ActionCall<HttpCall>>;

export class HttpActuator implements Actuator<ActionCall<HttpCall>> {
  readonly type = 'http' as const;
  readonly retry: RetryPolicy;

  constructor(private readonly config: HttpActuatorConfig) {
    this.retry = { retries: config.retries, backoff: config.retryBackoff };
  }

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

  private prepare(req: HttpRequest) {
    const call = req.params;
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

  describe(req: HttpRequest): string {
    try {
      const { call, url, body } = this.prepare(req);
      return `${call.method} ${url}${body === undefined ? '' : ` ${JSON.stringify(body).slice(0, 500)}`}`;
    } catch (err) {
      return `cannot prepare the call: ${errorMessage(err)}`;
    }
  }

  /** One attempt (`attempt`: which one, for the audit's detail; the retry stage counts). */
  async execute(req: ActionRequest<ActionCall<HttpCall>>): Promise<ActionResult> {
    let prepared;
    try {
      prepared = this.prepare(req);
      const token = await this.token();
      if (token) prepared.headers.authorization = `Bearer ${token}`;
    } catch (err) {
      return { outcome: 'failed', reason: `cannot prepare the call: ${errorMessage(err)}` };
    }
    const { call, url, headers, body } = prepared;
    const attempt = req.attempt ?? 1;
    if (req.signal.aborted) return { outcome: 'failed', reason: 'aborted' };
    try {
      const res = await axios.request({
        method: call.method, url, headers, data: body, timeout: this.config.timeout * 1000, signal: req.signal,
        validateStatus: () => true, maxRedirects: 0, responseType: 'text', transformResponse: (d: unknown) => d,
      });
      const ok = call.expectStatus ? call.expectStatus.includes(res.status) : res.status >= 200 && res.status < 300;
      const snippet = String(res.data ?? '').slice(0, 2000);
      if (ok) return { outcome: 'succeeded', reason: `${call.method} ${url} answered ${res.status}`, detail: { status: res.status, attempt, response: snippet } };
      const reason = `${call.method} ${url} answered ${res.status}: ${snippet.slice(0, 200)}`;
      if (call.refusedStatus?.includes(res.status)) return { outcome: 'skipped', reason: `${reason}; refused, nothing was changed`, detail: { status: res.status, attempt, response: snippet } };
      if (res.status < 500) return { outcome: 'failed', reason, detail: { status: res.status, attempt, response: snippet } };
      return { outcome: 'failed', reason, retry: true };
    } catch (err) {
      return { outcome: 'failed', reason: `${call.method} ${url}: ${errorMessage(err)}`, retry: true };
    }
  }
}
