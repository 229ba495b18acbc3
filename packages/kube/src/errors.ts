// Reading the HTTP status and the API server's message out of the errors client-node throws:
// ApiException (typed clients: `code`, `body`) and plain Errors from watches (`statusCode`).

interface StatusBody {
  message?: string;
  reason?: string;
}

/** The HTTP status of a failed API call, if the error carries one. */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatus(err) === 404;
/** 409: AlreadyExists on create, Conflict (stale resourceVersion) on update and patch. */
export const isConflict = (err: unknown): boolean => httpStatus(err) === 409;

function statusBody(err: unknown): StatusBody | undefined {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'object' && body !== null) return body as StatusBody;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** One line a person can read: the status code and the API server's own message, without headers. */
export function describeError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const status = httpStatus(err);
  const body = statusBody(err);
  if (status !== undefined && body?.message) return `${status} ${body.reason ?? ''}: ${body.message}`.replace(' :', ':');
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  const first = (e.message ?? String(err)).split('\n')[0] ?? '';
  if (status !== undefined) return `${status}: ${first}`;
  return cause && !first.includes(cause) ? `${first} (${cause})` : first;
}
