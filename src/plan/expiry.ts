/** memcached's expiry field: both the plan's TTL check (schema.ts) and the cache's writer read these. */

/** An expiry up to 30 days is seconds from now; a larger one is a Unix time. */
export const RELATIVE_TTL_MAX_S = 60 * 60 * 24 * 30;
/** The latest expiry memcached reads right everywhere (text protocol, 32-bit builds): 2038-01-19T03:14:07Z. */
export const EXPIRY_MAX_UNIX_S = 2 ** 31 - 1;
