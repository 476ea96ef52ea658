/** Connections to PostgreSQL: every value arrives as text and is decoded per column kind by `codec.ts`. */
import pg from 'pg';
import { ConnectionError, maskUrl } from '../../errors.js';

const asText = (value: string): string => value;
const types = { getTypeParser: () => asText } as unknown as pg.CustomTypesConfig;

/** Session settings that make the text forms exact and zone-independent. */
const SESSION_SQL =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; " +
  "SET extra_float_digits = 1; SET client_encoding = 'UTF8'";

export async function connectPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, types, application_name: 'cache-migrate' });
  try {
    await client.connect();
    await client.query(SESSION_SQL);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new ConnectionError(maskUrl(url), `cannot connect to PostgreSQL: ${describe(error)}`, {
      cause: error,
      hint: 'check that the server is running, and the host, port, user, password and database in the URL',
    });
  }
  // A connection that dies later must not crash the process through an unhandled 'error' event: the
  // query in flight fails with it and the engine reports that.
  client.on('error', () => undefined);
  return client;
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
