/**
 * A problem the user can fix: bad config, bad input, a refused store file.
 * Printed as one line, without a stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly options: { hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  get exitCode(): number {
    return this.options.exitCode ?? 1;
  }

  /** The one line shown to the user: what is wrong, and how to fix it when we know. */
  get line(): string {
    return this.options.hint ? `${this.message} (${this.options.hint})` : this.message;
  }
}

/** A failure of a remote system we depend on (Gerrit, a cloud, an SSH host). */
export class InfraError extends Error {
  override readonly name = 'InfraError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof Error && err.name === 'UserError';
}

export function isInfraError(err: unknown): err is InfraError {
  return err instanceof Error && err.name === 'InfraError';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
