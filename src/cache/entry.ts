/** One cache entry as the engine hands it over: its own file so that packs and the Cache interface share it. */
export interface CacheEntry {
  key: string;
  value: Buffer;
  /** Seconds; 0 = no expiry. */
  ttl: number;
}
