// Waiting for the exporter's models: every service's entity ready (trained on enough normal history).
import { waitFor } from '@selfheal/stack';

export interface EntityStatus {
  service: string;
  state: string;
  samplesSeen: number;
}

export async function exporterEntities(exporterUrl: string): Promise<EntityStatus[]> {
  const response = await fetch(`${exporterUrl}/api/v1/entities`, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`GET ${exporterUrl}/api/v1/entities answered ${response.status}`);
  const body = (await response.json()) as unknown;
  const list = (Array.isArray(body) ? body : ((body as { data?: unknown; entities?: unknown }).data ?? (body as { entities?: unknown }).entities)) as
    | { entity?: Record<string, string>; state?: string; samplesSeen?: number }[]
    | undefined;
  return (list ?? []).map((e) => ({ service: e.entity?.service ?? '?', state: e.state ?? '?', samplesSeen: e.samplesSeen ?? 0 }));
}

/** Resolves once every one of `services` is scored by a ready model; reports progress meanwhile. */
export async function waitForModels(
  exporterUrl: string,
  services: readonly string[],
  timeoutMs: number,
  onProgress?: (ready: number, entities: EntityStatus[]) => void,
): Promise<void> {
  await waitFor(
    async () => {
      const entities = await exporterEntities(exporterUrl);
      const ready = services.filter((s) => entities.some((e) => e.service === s && e.state === 'ready')).length;
      onProgress?.(ready, entities);
      return ready === services.length;
    },
    { what: `the exporter's models for ${services.join(', ')} to be ready`, timeoutMs, intervalMs: 1000 },
  );
}
