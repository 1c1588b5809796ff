// One service's releases, as a Kubernetes Deployment keeps them: numbered revisions, each a version with its own
// ReplicaSet (name and creation time, what kube-state-metrics exports), the current one and the history. A rollout
// adds a revision; a rollback returns to the newest earlier revision that was not itself rolled back (as
// `kubectl rollout undo`, except that the restored revision keeps its number). Pure bookkeeping: the service pool
// starts and stops the processes.
import { createHash } from 'node:crypto';
import { ActionError } from './service-pool.js';

/** What is wrong with a release: the share of requests it fails, and the latency it adds to each lookup. */
export interface ReleaseDefect {
  errorRatio: number;
  latencyMs: number;
}

export const NO_DEFECT: ReleaseDefect = { errorRatio: 0, latencyMs: 0 };

export type RevisionStatus = 'current' | 'superseded' | 'rolled_back';

export interface Revision {
  revision: number;
  version: string;
  /** The ReplicaSet's name: `<service>-<hash of the version>`, as a pod-template hash. */
  replicaset: string;
  /** Epoch ms: when the revision was rolled out (its ReplicaSet created). */
  createdAt: number;
  status: RevisionStatus;
  /** Epoch ms, when it was rolled back. */
  rolledBackAt?: number;
  defect: ReleaseDefect;
}

export interface RollbackPlan {
  from: Revision;
  to: Revision;
}

export const INITIAL_VERSION = '1.0.0';
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

export class RevisionHistory {
  private readonly revisions: Revision[];

  constructor(
    readonly service: string,
    now = Date.now(),
    initialVersion = INITIAL_VERSION,
  ) {
    this.revisions = [this.make(1, initialVersion, now, NO_DEFECT)];
  }

  private make(revision: number, version: string, createdAt: number, defect: ReleaseDefect): Revision {
    const hash = createHash('sha256').update(`${this.service}\n${version}`).digest('hex').slice(0, 10);
    return { revision, version, replicaset: `${this.service}-${hash}`, createdAt, status: 'current', defect: { ...defect } };
  }

  get current(): Revision {
    const found = this.revisions.find((r) => r.status === 'current');
    if (!found) throw new Error(`${this.service}: no current revision (bookkeeping error)`);
    return found;
  }

  get(revision: number): Revision | undefined {
    return this.revisions.find((r) => r.revision === revision);
  }

  /** Oldest first. */
  list(): readonly Revision[] {
    return this.revisions;
  }

  /** The revision a rollback returns to: the newest one before the current that was not rolled back. */
  previous(): Revision | undefined {
    const current = this.current;
    return this.revisions.filter((r) => r.revision < current.revision && r.status !== 'rolled_back').at(-1);
  }

  /** The next version after the highest one: 1.0.0 -> 1.1.0 (versions that are not x.y.z get a new minor of 1.x). */
  nextVersion(): string {
    const minors = this.revisions.map((r) => /^(\d+)\.(\d+)\.\d+$/.exec(r.version)).filter((m) => m !== null);
    const major = Math.max(1, ...minors.map((m) => Number(m[1])));
    const minor = Math.max(0, ...minors.filter((m) => Number(m[1]) === major).map((m) => Number(m[2])));
    return `${major}.${minor + 1}.0`;
  }

  /** Checks a rollout before any process starts; throws ActionError (400/409) naming what is wrong. */
  checkRollout(version: string): void {
    if (!VERSION.test(version)) throw new ActionError(`version ${JSON.stringify(version)} of ${this.service} must be 1 to 64 letters, digits, . _ + - (e.g. 1.4.0)`, 400);
    const existing = this.revisions.find((r) => r.version === version);
    if (existing) {
      throw new ActionError(`${this.service} already has version ${version} (revision ${existing.revision}, ${existing.status.replace('_', ' ')}); roll out a new version, or roll back`, 409);
    }
  }

  /** A new revision becomes the current one. */
  rollout(version: string, defect: ReleaseDefect, now = Date.now()): Revision {
    this.checkRollout(version);
    const next = this.make(Math.max(...this.revisions.map((r) => r.revision)) + 1, version, now, defect);
    this.current.status = 'superseded';
    this.revisions.push(next);
    return next;
  }

  /** What a rollback would do; throws ActionError 409 when there is nothing to go back to (nothing changes). */
  planRollback(): RollbackPlan {
    const from = this.current;
    const to = this.previous();
    if (!to) {
      const rolledBack = this.revisions.filter((r) => r.status === 'rolled_back').map((r) => `${r.revision} (${r.version})`);
      const why = this.revisions.length === 1
        ? `revision ${from.revision} (${from.version}) is its only revision`
        : `no revision before ${from.revision} (${from.version}) that was not rolled back${rolledBack.length ? `; rolled back: ${rolledBack.join(', ')}` : ''}`;
      throw new ActionError(`${this.service} has no previous revision to roll back to (${why}); nothing was changed`, 409);
    }
    return { from, to };
  }

  /** Carries out a plan made by planRollback (once its processes run). */
  commitRollback(plan: RollbackPlan, now = Date.now()): void {
    if (this.current !== plan.from) throw new ActionError(`${this.service} changed revision during the rollback (now ${this.current.revision}); nothing more was changed`, 409);
    plan.from.status = 'rolled_back';
    plan.from.rolledBackAt = now;
    plan.to.status = 'current';
  }

  /** The current release's defect fixed in place (the demo's "fault cleared"). */
  clearDefect(): void {
    this.current.defect = { ...NO_DEFECT };
  }

  /** Back to the first revision only (the demo's reset): later revisions are forgotten, as if never released. */
  reset(): void {
    const first = this.revisions[0];
    if (!first) return;
    this.revisions.length = 1;
    first.status = 'current';
    delete first.rolledBackAt;
    first.defect = { ...NO_DEFECT };
  }
}
