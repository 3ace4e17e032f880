/** Our own failures (not protocol errors): a stable code, a status, a message safe to show. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/**
 * The server is at capacity for this kind of work (argon2): 503 with Retry-After (RFC 9110
 * §15.6.4), since it is not the client's fault. Nothing was checked, so nothing is counted.
 */
export class ServerBusy extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds = 1) {
    super('server_busy', 'the server is busy; try again in a moment', 503);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
