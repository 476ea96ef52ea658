/**
 * `?password=` in a MySQL/MariaDB URL, as libpq and node-postgres take it: mysql2 reads the password only
 * from the user info (a `password` parameter is dropped without a word), so it is moved there, percent-
 * encoded; like libpq, the parameter wins over a password in the user info.
 */
export function passwordParamToUserInfo(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // the plan's URL check refuses what cannot be parsed; mysql2 reports anything else
  }
  const password = parsed.searchParams.get('password');
  if (password === null) return url;
  parsed.searchParams.delete('password');
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}
