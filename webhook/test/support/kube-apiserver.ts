// A small real HTTP server on 127.0.0.1 speaking the few Kubernetes API endpoints the actuator uses, with
// request and response shapes of the real apiserver (objects with kind/apiVersion/metadata, Status errors,
// patch content types). No Kubernetes API server can run here; this is the documented wire contract.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from './harness.js';

export type Obj = Record<string, unknown> & { metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> } & Record<string, unknown> };

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
  replicasets: { kind: 'ReplicaSet', apiVersion: 'apps/v1', group: 'apps' },
  // Custom resources: served only when their CRD is installed (an object of the kind given, or `crds`), else 404.
  rollouts: { kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1', group: 'argoproj.io' },
  canaries: { kind: 'Canary', apiVersion: 'flagger.app/v1beta1', group: 'flagger.app' },
};
const CUSTOM = new Set(['rollouts', 'canaries']);

/** JSON patch (RFC 6902): the ops kubectl's rollback sends (replace, add, remove, test). */
function jsonPatch(target: unknown, ops: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  if (!Array.isArray(ops)) return { ok: false, message: 'json patch must be an array of operations' };
  let doc = JSON.parse(JSON.stringify(target)) as unknown;
  for (const op of ops as { op?: string; path?: string; value?: unknown }[]) {
    const parts = (op.path ?? '').split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    if (last === undefined) { doc = op.value; continue; }
    let parent = doc as Record<string, unknown>;
    for (const p of parts) {
      if (!parent || typeof parent !== 'object' || !(p in parent)) return { ok: false, message: `doc is missing path: ${op.path ?? ''}` };
      parent = parent[p] as Record<string, unknown>;
    }
    if (op.op === 'replace' && !(last in parent)) return { ok: false, message: `replace operation does not apply: doc is missing key: ${op.path ?? ''}` };
    if (op.op === 'replace' || op.op === 'add') parent[last] = op.value;
    else if (op.op === 'remove') delete parent[last];
    else if (op.op === 'test') { if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) return { ok: false, message: `testing value ${op.path ?? ''} failed` }; }
    else return { ok: false, message: `unexpected kind: ${String(op.op)}` };
  }
  return { ok: true, value: doc };
}

/** A ReplicaSet the Deployment controller made for revision `revision` (its template carries the pod-template-hash). */
export function replicaSet(namespace: string, deploymentName: string, revision: number, image: string, createdAt: string, hash: string, opts: { ownerUid?: string; annotations?: Record<string, string> } = {}): Obj {
  const labels = { app: deploymentName, 'pod-template-hash': hash };
  return {
    kind: 'ReplicaSet', apiVersion: 'apps/v1',
    metadata: {
      name: `${deploymentName}-${hash}`, namespace, uid: `uid-rs-${hash}`, resourceVersion: '1', creationTimestamp: createdAt, labels,
      annotations: { 'deployment.kubernetes.io/revision': String(revision), 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4', ...opts.annotations },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName, uid: opts.ownerUid ?? `uid-${deploymentName}`, controller: true, blockOwnerDeletion: true }],
    },
    spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels, annotations: {} }, spec: { containers: [{ name: deploymentName, image }] } } },
    status: { replicas: 0, observedGeneration: 1 },
  };
}

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

export async function startFakeCluster(dir: string, objects: Obj[], token = 'kube-test-token', opts: { crds?: string[] } = {}): Promise<FakeCluster> {
  const store = new Map<string, Obj>();
  const key = (resource: string, ns: string, name: string) => `${resource}/${ns}/${name}`;
  for (const o of objects) {
    const resource = Object.entries(KINDS).find(([, k]) => k.kind === o.kind)?.[0] ?? 'unknown';
    store.set(key(resource, o.metadata.namespace, o.metadata.name), o);
  }
  const patches: FakeCluster['patches'] = [];
  const installed = new Set([...(opts.crds ?? []), ...objects.map((o) => Object.entries(KINDS).find(([, k]) => k.kind === o.kind)?.[0] ?? '')]);
  const server = await startServer((req, body, res) => {
    const send = (code: number, obj: unknown) => { res.statusCode = code; res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(obj)); };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const u = new URL(req.url ?? '/', 'http://x');
    const m = /^\/(?:api\/v1|apis\/([a-z0-9.]+)\/(v[0-9a-z]+))\/namespaces\/([^/]+)\/([a-z]+)(?:\/([^/]+))?(\/scale|\/status)?$/.exec(u.pathname);
    if (!m) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const [, , , ns = '', resource = '', name, sub] = m;
    const scale = sub === '/scale' ? sub : undefined;
    const kind = KINDS[resource];
    if (!kind || (CUSTOM.has(resource) && !installed.has(resource))) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (!name) {
      if (req.method !== 'GET') return send(405, status(405, 'MethodNotAllowed', 'method not allowed'));
      // labelSelector: equality requirements (k=v,k2=v2), what the client sends for a matchLabels selector.
      const wanted = (u.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((r) => r.split('='));
      const items = [...store.entries()].filter(([k]) => k.startsWith(`${resource}/${ns}/`)).map(([, v]) => v)
        .filter((o) => wanted.every(([k, v]) => o.metadata.labels?.[k ?? ''] === v));
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
    if (contentType === 'application/json-patch+json') {
      const applied = jsonPatch(obj, patch);
      if (!applied.ok) return send(422, status(422, 'Invalid', applied.message));
      next = applied.value as Obj;
    } else if (sub === '/status') {
      // The status subresource changes only the status.
      next = { ...obj, status: mergePatch(obj.status, (patch as { status?: unknown }).status ?? {}) } as Obj;
    } else if (scale) {
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
