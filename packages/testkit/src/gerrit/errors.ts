/** A request Gerrit would refuse; REST answers `status` with the message as a plain-text body, SSH prints it and exits 1. */
export class SimRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
