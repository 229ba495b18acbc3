// Local mode: the same YAML as the cluster, validated with the CRD schemas, reloaded when a
// file changes. A bad edit keeps the last good set and reports the file, the field and the fix.
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { link, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  compilePolicy,
  formatIssue,
  isAccessReview,
  isModelScope,
  validateResource,
  validateYaml,
  type AccessReview,
  type ApprovalRequest,
  type PolicySnapshot,
  type Resource,
} from '@scopekeeper/core';
import type { PolicySource, PolicyStatus } from './source.ts';

export interface FilePolicyOptions {
  dir: string;
  namespace: string;
  onChange?: (s: PolicyStatus) => void;
  onError?: (message: string) => void;
}

export class FilePolicySource implements PolicySource {
  private snapshot: PolicySnapshot | undefined;
  private lastError: string | undefined;
  private loads = 0;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: FilePolicyOptions;

  constructor(opts: FilePolicyOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    await this.reload();
    if (!this.snapshot) throw new Error(`no usable policy in ${this.opts.dir}: ${this.lastError}`);
    // Editors replace files (rename) rather than write them in place: watch the folder.
    this.watcher = watch(this.opts.dir, () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), 50);
    });
  }

  /** Reads every *.yaml / *.yml in the folder; all must validate for the new set to apply. */
  async reload(): Promise<void> {
    const resources: Resource[] = [];
    const problems: string[] = [];
    let files: string[];
    try {
      files = (await readdir(this.opts.dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
    } catch (e) {
      this.fail(`cannot read the policy folder ${this.opts.dir}: ${(e as Error).message}; pass an existing folder to --policy`);
      return;
    }
    for (const f of files) {
      const path = join(this.opts.dir, f);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        // A file removed between readdir and readFile is simply gone.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        problems.push(`${path}: ${(e as Error).message}`);
        continue;
      }
      const r = validateYaml(text, path);
      resources.push(...r.resources);
      problems.push(...r.issues.map(formatIssue));
    }
    if (problems.length) {
      this.fail(`${problems.join('\n')}\n(kept the last good policy; fix the file and save it again)`);
      return;
    }
    const scopes = resources.filter(isModelScope);
    const reviews = resources.filter(isAccessReview);
    for (const r of resources) r.metadata.namespace ??= this.opts.namespace;
    this.snapshot = compilePolicy(scopes, reviews, { namespace: this.opts.namespace });
    this.lastError = this.snapshot.invalid.length
      ? this.snapshot.invalid.map((i) => `ModelScope ${i.namespace}/${i.name} grants nothing: ${i.problems.join('; ')}`).join('\n')
      : undefined;
    this.loads++;
    if (this.lastError) this.opts.onError?.(this.lastError);
    this.opts.onChange?.(this.status());
  }

  private fail(message: string): void {
    this.loads++;
    this.lastError = message;
    this.opts.onError?.(message);
    this.opts.onChange?.(this.status());
  }

  current(): PolicySnapshot | undefined {
    return this.snapshot;
  }

  status(): PolicyStatus {
    return {
      ready: this.snapshot !== undefined,
      lastError: this.lastError,
      scopes: this.snapshot?.scopes.length ?? 0,
      invalidScopes: this.snapshot?.invalid.length ?? 0,
      loads: this.loads,
    };
  }

  /** Writes the held request as a Pending JustInTime AccessReview file; deduplicated by fingerprint. */
  async requestApproval(a: ApprovalRequest, reason: string | undefined): Promise<string> {
    const name = `${a.scope}-jit-${a.fingerprint}`;
    const review: AccessReview = {
      apiVersion: 'scopekeeper.dev/v1alpha1',
      kind: 'AccessReview',
      metadata: { name, namespace: a.namespace },
      spec: {
        scopeRef: { name: a.scope },
        type: 'JustInTime',
        decision: 'Pending',
        requestedBy: a.subject.name,
        request: { subject: a.subject, model: a.model, tools: a.tools, reason: reason?.slice(0, 1024), fingerprint: a.fingerprint },
      },
    };
    // The caller chose the model (and the reason): a review the folder would refuse must not be
    // written, or every later reload (revocations too) would keep the last good policy.
    const check = validateResource(JSON.parse(JSON.stringify(review)), name);
    if (check.issues.length)
      throw new Error(
        `the held request cannot be recorded as an AccessReview: ${check.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      );
    const path = join(this.opts.dir, `${name}.yaml`);
    // Unique per call: held requests of the same shape arrive concurrently.
    const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
    await writeFile(tmp, stringify(JSON.parse(JSON.stringify(review))));
    try {
      // link() fails if the file exists: the same held request never overwrites a review
      // (possibly already approved) that the snapshot has not caught up with yet.
      await link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await unlink(tmp);
    }
    return `${a.namespace}/${name}`;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
