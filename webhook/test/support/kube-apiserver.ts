// A small real HTTP server on 127.0.0.1 speaking the few Kubernetes API endpoints the actuator uses, with
// request and response shapes of the real apiserver (objects with kind/apiVersion/metadata, Status errors,
// patch content types). No Kubernetes API server can run here; this is the documented wire contract.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from './harness.js';

type Obj = Record<string, unknown> & { metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> } & Record<string, unknown> };

export interface FakeCluster {
  url: string;
  server: TestServer;
  objects: Map<string, Obj>;
  /** PATCH requests received: path, content type, parsed body, fieldManager. */
  patches: { path: string; contentType: string; body: Record<string, unknown>; fieldManager: string | null }[];
  kubeconfig: string;
  close(): Promise<void>;
}

const KINDS: Record<string, { kind: string; apiVersion: string; group: string }> = {
  deployments: { kind: 'Deployment', apiVersion: 'apps/v1', group: 'apps' },
  statefulsets: { kind: 'StatefulSet', apiVersion: 'apps/v1', group: 'apps' },
  pods: { kind: 'Pod', apiVersion: 'v1', group: '' },
  configmaps: { kind: 'ConfigMap', apiVersion: 'v1', group: '' },
  horizontalpodautoscalers: { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2', group: 'autoscaling' },
};

const PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml'];

/** JSON merge patch (RFC 7386); strategic merge patch is the same for the map-only patches used here. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function deployment(namespace: string, name: string, replicas: number, labels: Record<string, string> = { app: name }): Obj {
  return {
    kind: 'Deployment', apiVersion: 'apps/v1',
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '1', generation: 1, creationTimestamp: '2026-11-01T00:00:00Z', labels },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels, annotations: {} }, spec: { containers: [{ name, image: `${name}:1.0` }] } } },
    status: { replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 },
  };
}

export function pod(namespace: string, name: string, labels: Record<string, string>): Obj {
  return {
    kind: 'Pod', apiVersion: 'v1',
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z', labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name.split('-').slice(0, -1).join('-')}`, uid: 'rs', controller: true }] },
    spec: { containers: [{ name: 'app', image: 'app:1.0' }] },
    status: { phase: 'Running', podIP: '10.0.0.7' },
  };
}

export function hpa(namespace: string, name: string, targetKind: string, targetName: string, min: number, max: number, current: number): Obj {
  return {
    kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2',
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: targetKind, name: targetName }, minReplicas: min, maxReplicas: max, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }] },
    status: { currentReplicas: current, desiredReplicas: current },
  };
}

export function configMap(namespace: string, name: string, data: Record<string, string>): Obj {
  return { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z' }, data };
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

export async function startFakeCluster(dir: string, objects: Obj[], token = 'kube-test-token'): Promise<FakeCluster> {
  const store = new Map<string, Obj>();
  const key = (resource: string, ns: string, name: string) => `${resource}/${ns}/${name}`;
  for (const o of objects) {
    const resource = Object.entries(KINDS).find(([, k]) => k.kind === o.kind)?.[0] ?? 'unknown';
    store.set(key(resource, o.metadata.namespace, o.metadata.name), o);
  }
  const patches: FakeCluster['patches'] = [];
  const server = await startServer((req, body, res) => {
    const send = (code: number, obj: unknown) => { res.statusCode = code; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(obj)); };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/(?:api\/v1|apis\/(apps|autoscaling)\/(v1|v2))\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?(\/scale)?$/.exec(u.pathname);
    if (!m) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const [, , , ns = '', resource = '', name, scale] = m;
    const kind = KINDS[resource];
    if (!kind) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (!name) {
      if (req.method !== 'GET') return send(405, status(405, 'MethodNotAllowed', 'method not allowed'));
      const items = [...store.entries()].filter(([k]) => k.startsWith(`${resource}/${ns}/`)).map(([, v]) => v);
      return send(200, { kind: `${kind.kind}List`, apiVersion: kind.apiVersion, metadata: { resourceVersion: '100' }, items });
    }
    const obj = store.get(key(resource, ns, name));
    if (!obj) return send(404, status(404, 'NotFound', `${resource}${kind.group ? `.${kind.group}` : ''} "${name}" not found`, { name, group: kind.group, kind: resource }));
    const toScale = (o: Obj) => ({
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: ns, uid: (o.metadata as { uid?: string }).uid, resourceVersion: (o.metadata as { resourceVersion?: string }).resourceVersion, creationTimestamp: '2026-11-01T00:00:00Z' },
      spec: { replicas: (o.spec as { replicas: number }).replicas },
      status: { replicas: (o.status as { replicas: number }).replicas, selector: Object.entries((o.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',') },
    });
    if (req.method === 'GET') return send(200, scale ? toScale(obj) : obj);
    if (req.method !== 'PATCH') return send(405, status(405, 'MethodNotAllowed', 'method not allowed'));
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!PATCH_TYPES.includes(contentType)) return send(415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`));
    let patch: Record<string, unknown>;
    try {
      patch = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return send(400, status(400, 'BadRequest', 'error decoding patch'));
    }
    patches.push({ path: u.pathname, contentType, body: patch, fieldManager: u.searchParams.get('fieldManager') });
    const rv = String(Number((obj.metadata as { resourceVersion?: string }).resourceVersion ?? '1') + 1);
    let next: Obj;
    if (scale) {
      const replicas = (patch.spec as { replicas?: number } | undefined)?.replicas;
      if (typeof replicas !== 'number') return send(422, status(422, 'Invalid', 'Scale.autoscaling "x" is invalid: spec.replicas: Required value'));
      next = mergePatch(obj, { spec: { replicas } }) as Obj;
    } else {
      next = mergePatch(obj, patch) as Obj;
    }
    next.metadata = { ...next.metadata, resourceVersion: rv } as Obj['metadata'];
    store.set(key(resource, ns, name), next);
    return send(200, scale ? toScale(next) : next);
  });
  // client-node refuses plain http unless TLS verification is off; a real cluster is https with its CA.
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: test',
    'clusters:', '- name: fake', '  cluster:', `    server: ${server.url}`, '    insecure-skip-tls-verify: true',
    'users:', '- name: selfheal', '  user:', `    token: ${token}`,
    'contexts:', '- name: test', '  context: {cluster: fake, user: selfheal, namespace: shop}', '',
  ].join('\n'));
  return { url: server.url, server, objects: store, patches, kubeconfig, close: () => server.close() };
}
