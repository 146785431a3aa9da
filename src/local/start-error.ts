/**
 * A start that cannot go on, for a reason the person starting it can act on. Its message is the whole
 * story, printed as one line; anything else that stops a start is reported with its step.
 */
export class StartError extends Error {
  override name = 'StartError';
}

/** Something to install (or configure instead) before local mode can run. */
export class MissingPrerequisite extends StartError {
  override name = 'MissingPrerequisite';
}

/** Runs one step of a start; an unexpected failure is reported as that step and its first line. */
export async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StartError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StartError(`${what}: ${message.split('\n')[0]}`, { cause: error });
  }
}

/** host:port of a connection URL: enough to say which service, without its credentials. */
export function where(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an unreadable URL';
  }
}
