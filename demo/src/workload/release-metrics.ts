// The demo's releases as Prometheus sees a Kubernetes cluster's: kube-state-metrics' ReplicaSet series (each
// service a Deployment in namespace "demo", each revision a ReplicaSet, kept after it is scaled down as
// revisionHistoryLimit keeps them), so the healing service's default change query (webhook/src/changes/prometheus.ts:
// kube_replicaset_created joined with kube_replicaset_owner, by owner_name) reads the demo's rollouts unchanged; and
// the version each instance runs, as a build_info series.
import type { Gauge, Registry } from 'prom-client';
import { collectedGauge } from './collected-gauge.js';
import type { ServicePool } from './service-pool.js';

/** The namespace the demo's services are said to run in. */
export const DEMO_NAMESPACE = 'demo';

export function registerReleaseMetrics(registry: Registry, pools: ReadonlyMap<string, ServicePool>): void {
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): void => collectedGauge(registry, name, help, labelNames, collect);
  const replicaSets = function* () {
    for (const pool of pools.values()) for (const revision of pool.revisions.list()) yield { pool, revision };
  };
  gauge('kube_replicaset_created', 'Unix creation timestamp (kube-state-metrics shape): when the revision was rolled out.', ['namespace', 'replicaset'], (g) => {
    for (const { revision } of replicaSets()) g.set({ namespace: DEMO_NAMESPACE, replicaset: revision.replicaset }, revision.createdAt / 1000);
  });
  gauge('kube_replicaset_owner', 'Information about the ReplicaSet\'s owner (kube-state-metrics shape): the service\'s Deployment.', ['namespace', 'replicaset', 'owner_kind', 'owner_name', 'owner_is_controller'], (g) => {
    for (const { pool, revision } of replicaSets()) {
      g.set({ namespace: DEMO_NAMESPACE, replicaset: revision.replicaset, owner_kind: 'Deployment', owner_name: pool.spec.name, owner_is_controller: 'true' }, 1);
    }
  });
  gauge('kube_replicaset_spec_replicas', 'Desired pods of the ReplicaSet (kube-state-metrics shape): the instances in rotation for the current revision, 0 for the others.', ['namespace', 'replicaset'], (g) => {
    for (const { pool, revision } of replicaSets()) {
      g.set({ namespace: DEMO_NAMESPACE, replicaset: revision.replicaset }, revision.status === 'current' ? pool.inRotation().length : 0);
    }
  });
  gauge('demo_service_revision', 'The revision each service runs now (the Deployment\'s current revision), with its version.', ['service', 'version', 'replicaset'], (g) => {
    for (const pool of pools.values()) {
      const current = pool.revisions.current;
      g.set({ service: pool.spec.name, version: current.version, replicaset: current.replicaset }, current.revision);
    }
  });
  gauge('demo_build_info', 'The version each instance runs (1 per instance).', ['service', 'instance', 'version', 'revision'], (g) => {
    for (const pool of pools.values()) {
      for (const member of pool.members) {
        const version = pool.revisions.get(member.revision)?.version ?? 'unknown';
        g.set({ service: pool.spec.name, instance: member.process.instance, version, revision: String(member.revision) }, 1);
      }
    }
  });
}
