/**
 * Reads the `exp` claim of a compact JWT without verifying it, only to schedule the next refresh
 * (and to tell that a token that cannot be renewed has expired). Returns epoch ms, or -1 if the
 * token is not a JWT or has no numeric `exp`: opaque tokens are allowed, and the next welcome's
 * `expires_at` tells their expiry instead.
 */
export function jwtExpiresAt(token: string): number {
  const parts = token.split(".");
  if (parts.length !== 3) {
    return -1;
  }
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (claims !== null && typeof claims === "object") {
      const exp = (claims as { exp?: unknown }).exp;
      if (typeof exp === "number" && Number.isFinite(exp)) {
        return Math.floor(exp * 1000);
      }
    }
  } catch {
    // Not a JWT after all.
  }
  return -1;
}
