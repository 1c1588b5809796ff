// One service's instances and what the healing actions change about them: how many run (scale), which are
// fresh processes (restart), which the load balancer sends traffic to (quarantine), and the service-wide
// cache and circuit-breaker settings every instance applies.
import type { InstanceFaults, InstanceSettings } from '../instance/protocol.js';
import { InstanceProcess } from './instance-process.js';
import { RevisionHistory, type ReleaseDefect, type Revision } from './revisions.js';
import { HEALTHY_INSTANCE, type ActiveFaults, type ServiceSpec } from './spec.js';

export type InstanceState = 'in_rotation' | 'quarantined';

export interface PoolMember {
  process: InstanceProcess;
  state: InstanceState;
  /** Recent outcomes seen by the load balancer (true = 5xx), newest last; for picking the worst instance. */
  recent: boolean[];
  /** The release (revision number) this process runs. */
  revision: number;
}

export interface InstanceView {
  instance: string;
  port: number;
  pid: number | undefined;
  state: InstanceState;
  recentErrorRatio: number;
  inFlight: number;
  revision: number;
}

export class ActionError extends Error {
  constructor(
    message: string,
    readonly status = 409,
  ) {
    super(message);
  }
}

const RECENT_WINDOW = 50;
export const DEFAULT_CACHE_TTL_MS = 60_000;

export class ServicePool {
  readonly spec: ServiceSpec;
  readonly members: PoolMember[] = [];
  settings: InstanceSettings = { cacheEnabled: false, cacheTtlMs: DEFAULT_CACHE_TTL_MS, breakerOpen: false };
  readonly faults: ActiveFaults = {};
  /** Its releases (revisions.ts): rollouts and rollbacks replace the instances with those of another revision. */
  readonly revisions: RevisionHistory;
  private seq = 0;
  private cursor = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    spec: ServiceSpec,
    private readonly dependencyUrl: string,
  ) {
    this.spec = spec;
    this.revisions = new RevisionHistory(spec.name);
  }

  /** Runs mutations one at a time, so a restart and a scale-up never interleave. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lock.then(task, task);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async spawn(revision: Revision = this.revisions.current): Promise<PoolMember> {
    if (this.stopped) throw new ActionError(`service ${this.spec.name} is stopping`);
    this.seq += 1;
    const process = await InstanceProcess.start({
      service: this.spec.name,
      instance: `${this.spec.name}-${this.seq}`,
      dependencyUrl: this.dependencyUrl,
      dependencyTimeoutMs: 5000,
      cpuMsPerRequest: this.spec.cpuMsPerRequest,
      settings: this.settings,
    });
    return { process, state: 'in_rotation', recent: [], revision: revision.revision };
  }

  async start(): Promise<void> {
    await this.exclusive(async () => {
      const fresh = await Promise.all(Array.from({ length: this.spec.replicas }, () => this.spawn()));
      this.members.push(...fresh);
    });
  }

  inRotation(): PoolMember[] {
    return this.members.filter((m) => m.state === 'in_rotation' && m.process.running);
  }

  /** Round robin over the instances in rotation. */
  pick(): PoolMember | undefined {
    const candidates = this.inRotation();
    if (candidates.length === 0) return undefined;
    this.cursor = (this.cursor + 1) % candidates.length;
    return candidates[this.cursor];
  }

  record(member: PoolMember, failed: boolean): void {
    member.recent.push(failed);
    if (member.recent.length > RECENT_WINDOW) member.recent.shift();
  }

  view(): InstanceView[] {
    return this.members.map((m) => ({
      instance: m.process.instance,
      port: m.process.port,
      pid: m.process.pid,
      state: m.state,
      recentErrorRatio: m.recent.length ? m.recent.filter(Boolean).length / m.recent.length : 0,
      inFlight: m.process.inFlight,
      revision: m.revision,
    }));
  }

  /** Faults that live in the instance process, as each member should have them now. */
  private instanceFaultsFor(member: PoolMember, leaking: ReadonlySet<PoolMember>): InstanceFaults {
    const leak = this.faults.memory_leak;
    const bad = this.faults.bad_instance;
    const release = this.revisions.get(member.revision)?.defect;
    return {
      ...HEALTHY_INSTANCE,
      ...(leak && leaking.has(member) ? { leakBytesPerSecond: leak.leakBytesPerSecond, leakCapBytes: leak.leakCapBytes } : {}),
      errorRatio: Math.max(bad && bad.instance === member.process.instance ? bad.errorRatio : 0, release?.errorRatio ?? 0),
      latencyMs: release?.latencyMs ?? 0,
    };
  }

  /** The processes that carry the leak: those running when it was injected (new processes are clean). */
  private readonly leaking = new Set<PoolMember>();

  /** Pushes the current in-process faults to every member. */
  syncFaults(): void {
    for (const member of this.members) member.process.setFaults(this.instanceFaultsFor(member, this.leaking));
  }

  injectLeak(leakBytesPerSecond: number, leakCapBytes: number): void {
    this.faults.memory_leak = { leakBytesPerSecond, leakCapBytes };
    for (const member of this.members) this.leaking.add(member);
    this.syncFaults();
  }

  injectBadInstance(errorRatio: number, instance?: string): string {
    const target = instance ? this.members.find((m) => m.process.instance === instance) : this.inRotation()[0];
    if (!target) throw new ActionError(instance ? `no instance ${instance} in ${this.spec.name}` : `${this.spec.name} has no instance in rotation`, 404);
    this.faults.bad_instance = { instance: target.process.instance, errorRatio };
    this.syncFaults();
    return target.process.instance;
  }

  clearInstanceFaults(): void {
    delete this.faults.memory_leak;
    delete this.faults.bad_instance;
    this.leaking.clear();
    this.syncFaults();
  }

  /** Scale to `replicas` instances in rotation: new processes join the rotation, surplus ones drain and stop. */
  scale(replicas: number): Promise<{ from: number; to: number }> {
    return this.exclusive(async () => {
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > this.spec.maxReplicas) {
        throw new ActionError(`replicas must be an integer from 1 to ${this.spec.maxReplicas} for ${this.spec.name}, got ${replicas}`, 400);
      }
      const current = this.inRotation();
      const from = current.length;
      if (replicas > from) {
        const fresh = await Promise.all(Array.from({ length: replicas - from }, () => this.spawn()));
        this.members.push(...fresh);
        this.syncFaults();
      } else if (replicas < from) {
        await this.retire(current.slice(replicas));
      }
      return { from, to: replicas };
    });
  }

  /**
   * Rolling restart: every instance in rotation is replaced by a fresh process (fresh memory). The new ones
   * join the rotation before the old ones leave it, so capacity never drops.
   */
  restart(): Promise<{ replaced: string[]; started: string[] }> {
    return this.exclusive(async () => {
      const old = this.inRotation();
      if (old.length === 0) throw new ActionError(`${this.spec.name} has no instance in rotation to restart`);
      const fresh = await Promise.all(old.map(() => this.spawn()));
      this.members.push(...fresh);
      await this.retire(old);
      this.syncFaults();
      return { replaced: old.map((m) => m.process.instance), started: fresh.map((m) => m.process.instance) };
    });
  }

  /** Takes an instance out of rotation (default: the one with the worst recent error ratio). */
  quarantine(instance?: string): Promise<{ instance: string; recentErrorRatio: number }> {
    return this.exclusive(async () => {
      const candidates = this.inRotation();
      let target: PoolMember | undefined;
      if (instance) {
        target = this.members.find((m) => m.process.instance === instance);
        if (!target) throw new ActionError(`no instance ${instance} in ${this.spec.name}`, 404);
        if (target.state === 'quarantined') {
          return { instance, recentErrorRatio: ratio(target) };
        }
      } else {
        target = [...candidates].sort((a, b) => ratio(b) - ratio(a))[0];
        if (!target) throw new ActionError(`${this.spec.name} has no instance in rotation`);
      }
      if (candidates.length <= 1) {
        throw new ActionError(`refusing to quarantine the last instance in rotation of ${this.spec.name}`);
      }
      target.state = 'quarantined';
      return { instance: target.process.instance, recentErrorRatio: ratio(target) };
    });
  }

  /** Puts a quarantined instance back into rotation. */
  release(instance: string): Promise<void> {
    return this.exclusive(async () => {
      const target = this.members.find((m) => m.process.instance === instance);
      if (!target) throw new ActionError(`no instance ${instance} in ${this.spec.name}`, 404);
      target.state = 'in_rotation';
    });
  }

  setCache(enabled: boolean, ttlMs = this.settings.cacheTtlMs): void {
    this.settings = { ...this.settings, cacheEnabled: enabled, cacheTtlMs: ttlMs };
    for (const m of this.members) m.process.setSettings(this.settings);
  }

  setBreaker(open: boolean): void {
    this.settings = { ...this.settings, breakerOpen: open };
    for (const m of this.members) m.process.setSettings(this.settings);
  }

  /** Back to the start state: baseline replicas of fresh, clean processes, cache off, breaker closed. */
  reset(): Promise<void> {
    return this.exclusive(async () => {
      this.settings = { cacheEnabled: false, cacheTtlMs: DEFAULT_CACHE_TTL_MS, breakerOpen: false };
      // Leaking and broken processes are replaced, not just told to stop: their state is the fault.
      const dirty = new Set(this.leaking);
      const bad = this.faults.bad_instance?.instance;
      for (const key of Object.keys(this.faults) as (keyof ActiveFaults)[]) delete this.faults[key];
      this.leaking.clear();
      this.revisions.reset();
      const healthy = this.inRotation().filter((m) => !dirty.has(m) && m.process.instance !== bad && m.revision === this.revisions.current.revision);
      const keep = healthy.slice(0, this.spec.replicas);
      const fresh = await Promise.all(Array.from({ length: this.spec.replicas - keep.length }, () => this.spawn()));
      this.members.push(...fresh);
      await this.retire(this.members.filter((m) => !keep.includes(m) && !fresh.includes(m)));
      for (const m of this.members) m.process.setSettings(this.settings);
      this.syncFaults();
    });
  }

  /** Out of rotation, wait for in-flight requests (bounded), then stop the processes. */
  private async retire(members: PoolMember[]): Promise<void> {
    for (const m of members) m.state = 'quarantined';
    const deadline = Date.now() + 3000;
    while (members.some((m) => m.process.inFlight > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const m of members) {
      const index = this.members.indexOf(m);
      if (index >= 0) this.members.splice(index, 1);
      this.leaking.delete(m);
    }
    await Promise.all(members.map((m) => m.process.stop()));
  }

  /**
   * Rolling update to a new version (a Deployment's rollout): as many fresh processes of the new revision as are in
   * rotation join it, then every process of the other revisions drains and stops. `defect` makes it a bad release.
   */
  rollout(version: string = this.revisions.nextVersion(), defect: ReleaseDefect): Promise<{ from: Revision; to: Revision; replaced: string[]; started: string[] }> {
    return this.exclusive(async () => {
      this.revisions.checkRollout(version);
      const from = this.revisions.current;
      const to = this.revisions.rollout(version, defect);
      const { replaced, started } = await this.replaceWith(to);
      if (defect.errorRatio > 0 || defect.latencyMs > 0) this.faults.bad_release = { revision: to.revision, version, ...defect };
      else delete this.faults.bad_release;
      return { from, to, replaced, started };
    });
  }

  /**
   * Back to the previous revision (`kubectl rollout undo`): its fresh processes replace the current release's.
   * Without a previous revision: ActionError 409, and nothing changes.
   */
  rollback(): Promise<{ from: Revision; to: Revision; replaced: string[]; started: string[] }> {
    return this.exclusive(async () => {
      const plan = this.revisions.planRollback();
      const { replaced, started } = await this.replaceWith(plan.to, () => this.revisions.commitRollback(plan));
      delete this.faults.bad_release;
      return { ...plan, replaced, started };
    });
  }

  /** The current release's defect fixed in place (the demo's "clear faults"). */
  clearReleaseDefect(): void {
    this.revisions.clearDefect();
    delete this.faults.bad_release;
    this.syncFaults();
  }

  /** Processes of `revision` (as many as are in rotation) join; all others drain and stop. Inside exclusive(). */
  private async replaceWith(revision: Revision, commit?: () => void): Promise<{ replaced: string[]; started: string[] }> {
    const old = this.members.filter((m) => m.revision !== revision.revision);
    const count = Math.max(1, this.inRotation().length);
    const fresh = await Promise.all(Array.from({ length: count }, () => this.spawn(revision)));
    commit?.();
    this.members.push(...fresh);
    this.syncFaults();
    await this.retire(old);
    return { replaced: old.map((m) => m.process.instance), started: fresh.map((m) => m.process.instance) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.lock.catch(() => undefined);
    await Promise.all(this.members.map((m) => m.process.stop()));
    this.members.length = 0;
  }
}

function ratio(member: PoolMember): number {
  return member.recent.length ? member.recent.filter(Boolean).length / member.recent.length : 0;
}
