// The demo workload's admin API as the tests call it: one request, its status and JSON body. A string body is sent
// as given (to test malformed JSON), anything else as JSON.
export interface AdminAnswer {
  status: number;
  json: Record<string, unknown>;
}

export async function callAdmin(baseUrl: string, path: string, body?: unknown, method = 'POST'): Promise<AdminAnswer> {
  const response = await fetch(`${baseUrl}/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
