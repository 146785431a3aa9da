/**
 * What a start has set up, undone in reverse order exactly once, whichever way the start ends: a failed
 * step, Ctrl-C half-way, or a normal stop. A step added after teardown began runs at once, so a child
 * spawned while the process is already stopping is not left behind.
 */
export class Teardown {
  readonly #steps: Array<() => Promise<void>> = [];
  #running: Promise<void> | undefined;

  add(step: () => Promise<void>): void {
    if (this.#running) void step().catch(() => undefined);
    else this.#steps.push(step);
  }

  get begun(): boolean {
    return this.#running !== undefined;
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      // Each step is independent: one that fails must not keep a later child running.
      for (const step of [...this.#steps].reverse()) await step().catch(() => undefined);
    })();
    return this.#running;
  }
}
