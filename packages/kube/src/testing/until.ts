// Polls until a state a test waits for holds, in place of a fixed sleep: the one such helper of
// every package's tests and of e2e (the kube package is the lowest layer all of them import).
// It throws naming what it waited for, so a test whose state never comes fails there, with a
// reason, instead of going on past a wait that gave up silently.

/** Resolves with `check`'s first truthy result; throws after `timeoutMs` (checked every `everyMs`). */
export async function until<T>(
  what: string | (() => string),
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 15_000,
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
