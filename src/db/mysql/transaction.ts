/** One transaction on a MySQL connection: `work`'s result after COMMIT, or ROLLBACK and its error. */
import type mysql from 'mysql2/promise';

export async function inTransaction<T>(conn: mysql.Connection, work: () => Promise<T>): Promise<T> {
  await conn.query('START TRANSACTION');
  try {
    const result = await work();
    await conn.query('COMMIT');
    return result;
  } catch (error) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
