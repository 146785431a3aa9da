import type { Job, Processor, Queue, Worker } from 'bullmq';

/** What the watchdog needs of a queue: the jobs that wait or are due, and whether an operator paused it. */
export type WatchedQueue = Pick<Queue, 'getWaitingCount' | 'getPrioritizedCount' | 'getJobs' | 'isPaused'>;

export interface WatchdogOptions {
  /** How long jobs may wait while the worker has a free slot and starts nothing, before it is replaced. */
  stallMs: number;
  /** How often to look. */
  checkEveryMs: number;
  /** Called once a stuck worker has been replaced (for the log and the metrics). */
  onReplaced(info: { waiting: number; stuckForMs: number }): void;
  /** Called when a worker's run loop ends in an error. */
  onStopped(err: unknown): void;
}

export interface SupervisedWorker {
  /** The worker serving the queue now (a replacement after a stall). */
  readonly current: Worker;
  /** Starts the worker and the checks. */
  run(): void;
  /** Stops the checks and closes the worker serving now. */
  close(): Promise<void>;
}

/**
 * Keeps one BullMQ worker alive in the one way BullMQ cannot see from inside: its blocking connection wedged
 * after a Redis failover (bullmq#4138, #4585), so it looks running, takes no job, and never errors. The maintainer's
 * advice is to close such a worker and make a new one; this does that when jobs have waited for `stallMs` while
 * the worker had a free slot and started none. A paused queue is left alone. The stuck worker is closed without
 * waiting: it takes no new job, and the jobs it still runs finish under their own locks.
 */
export function superviseWorker(
  make: (processor: Processor) => Worker,
  processor: Processor,
  queue: WatchedQueue,
  concurrency: number,
  options: WatchdogOptions,
): SupervisedWorker {
  let active = 0;
  let started = 0;
  const counted: Processor = async (job: Job, token?: string, signal?: AbortSignal) => {
    active++;
    started++;
    try {
      return await processor(job, token, signal);
    } finally {
      active--;
    }
  };
  let worker = make(counted);
  let timer: NodeJS.Timeout | undefined;
  let closing = false;
  let suspect: { since: number; started: number } | undefined;

  /**
   * Jobs this worker should be running: waiting, prioritized, or delayed and overdue. A due delayed job is moved
   * to waiting only by a worker fetching its next one, so a wedged worker leaves it delayed for ever.
   */
  const due = async (now: number) => {
    const [waiting, prioritized, [earliest]] = await Promise.all([queue.getWaitingCount(), queue.getPrioritizedCount(), queue.getJobs(['delayed'], 0, 0, true)]);
    const overdue = earliest && earliest.timestamp + earliest.delay + options.stallMs < now ? 1 : 0;
    return waiting + prioritized + overdue;
  };

  const check = async () => {
    const now = Date.now();
    const waiting = active < concurrency && !(await queue.isPaused()) ? await due(now) : 0;
    if (waiting === 0 || (suspect && started !== suspect.started)) {
      suspect = undefined;
      return;
    }
    suspect ??= { since: now, started };
    const stuckForMs = now - suspect.since;
    if (stuckForMs < options.stallMs || closing) return;
    const stuck = worker;
    worker = make(counted);
    suspect = undefined;
    void worker.run().catch(options.onStopped);
    // A wedged connection may never answer a close: do not wait for it. Not forced: jobs the stuck worker still
    // runs keep their locks renewed until they end, so none is handed to the new worker while it runs.
    void stuck.close().catch(() => undefined);
    options.onReplaced({ waiting, stuckForMs });
  };

  const tick = () => {
    timer = setTimeout(() => {
      // Redis itself down: nothing to judge until it answers again.
      void check().catch(() => (suspect = undefined)).finally(() => closing || tick());
    }, options.checkEveryMs);
    timer.unref();
  };

  return {
    get current() {
      return worker;
    },
    run() {
      void worker.run().catch(options.onStopped);
      tick();
    },
    async close() {
      closing = true;
      clearTimeout(timer);
      await worker.close();
    },
  };
}
