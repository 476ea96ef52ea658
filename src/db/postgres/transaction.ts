/** One transaction on a PostgreSQL client: `work`'s result after COMMIT, or ROLLBACK and its error. */
import type pg from 'pg';

export async function inTransaction<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
