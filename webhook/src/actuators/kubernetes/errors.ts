// The Kubernetes API's errors as a person reads them (the fixes and their reverts report them alike).
import { errorMessage } from '../types.js';

/** The message of a client-node ApiException (status + the apiserver's Status.message). */
export function kubeError(err: unknown): string {
  const e = err as { code?: number; body?: unknown };
  if (typeof e?.code === 'number') {
    let message = '';
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
      message = body?.message ?? '';
    } catch {
      message = String(e.body).slice(0, 200);
    }
    return `Kubernetes API answered ${e.code}${message ? `: ${message}` : ''}`;
  }
  return errorMessage(err);
}
