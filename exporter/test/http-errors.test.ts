// The exporter's HTTP error answers come from its catalogue (src/errors.ts): asserted by code over real HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type ExporterHttpSource } from '../src/http/app.js';
import { ERROR_CODE_HEADER, exporterErrors } from '../src/http/errors.js';
import { listenLoopback } from './helpers.js';

function source(overrides: Partial<ExporterHttpSource> = {}): ExporterHttpSource {
  return { ready: true, contentType: 'text/plain; version=0.0.4', metricsText: async () => '', entities: () => [], ...overrides };
}

describe('exporter HTTP errors', () => {
  let server: Awaited<ReturnType<typeof listenLoopback>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const get = async (app: ExporterHttpSource, path: string) => {
    server = await listenLoopback(createApp(app));
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, code: res.headers.get(ERROR_CODE_HEADER), text: await res.text() };
  };

  it('answers an unknown path with SELFHEAL_EXPORTER_NOT_FOUND', async () => {
    const res = await get(source(), '/nope');
    expect(res.code).toBe(exporterErrors.NotFound.code);
    expect(res.status).toBe(404);
    expect(res.text).toBe('not found; endpoints: /metrics, /-/healthy, /-/ready, /api/v1/entities\n');
  });

  it('answers readiness before the first cycle with SELFHEAL_EXPORTER_NOT_READY', async () => {
    const res = await get(source({ ready: false }), '/-/ready');
    expect(res.code).toBe('SELFHEAL_EXPORTER_NOT_READY');
    expect(res.status).toBe(503);
  });

  it('answers a failed collection with SELFHEAL_EXPORTER_METRICS_FAILED and the reason', async () => {
    const res = await get(source({ metricsText: async () => { throw new Error('disk gone'); } }), '/metrics');
    expect(res.code).toBe('SELFHEAL_EXPORTER_METRICS_FAILED');
    expect(res.status).toBe(500);
    expect(res.text).toBe('metrics collection failed: disk gone\n');
  });

  it('answers success without an error code', async () => {
    const res = await get(source(), '/-/ready');
    expect(res.status).toBe(200);
    expect(res.code).toBeNull();
  });
});
