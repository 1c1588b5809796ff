// One access token kept for every request and fetched again before it expires: requests between refreshes ask
// nobody; concurrent requests at refresh time share one fetch; a failed refresh keeps the old token while it is
// still valid (the token endpoint may be briefly unreachable), and fails once it has expired.

export interface CachedToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresOnTimestamp: number;
  /** When the issuer suggests fetching a new one (ms since the epoch), if it says. */
  refreshAfterTimestamp?: number | undefined;
}

export interface TokenCacheOptions {
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
  /** Refresh this long before expiry (default 5 min; at most half the token's remaining life at fetch time). */
  marginMs?: number;
}

export class TokenCache {
  private current: CachedToken | undefined;
  private refreshAt = 0;
  private inflight: Promise<string> | undefined;
  private readonly now: () => number;
  private readonly marginMs: number;
  /** How many times a token was fetched (observable by tests and metrics). */
  fetches = 0;

  constructor(
    private readonly fetchToken: () => Promise<CachedToken>,
    options: TokenCacheOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.marginMs = options.marginMs ?? 5 * 60_000;
  }

  /** The current token, fetched anew when none is held or its refresh time has come. */
  async get(): Promise<string> {
    const now = this.now();
    if (this.current && now < this.refreshAt) return this.current.token;
    this.inflight ??= this.refresh().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async refresh(): Promise<string> {
    const fetchedAt = this.now();
    let next: CachedToken;
    try {
      this.fetches++;
      next = await this.fetchToken();
    } catch (error) {
      // Still valid: keep using it, and try again on the next request.
      if (this.current && this.now() < this.current.expiresOnTimestamp) return this.current.token;
      throw error;
    }
    const life = next.expiresOnTimestamp - fetchedAt;
    const byExpiry = next.expiresOnTimestamp - Math.min(this.marginMs, Math.max(0, life / 2));
    this.current = next;
    this.refreshAt = next.refreshAfterTimestamp !== undefined ? Math.min(next.refreshAfterTimestamp, byExpiry) : byExpiry;
    return next.token;
  }
}
