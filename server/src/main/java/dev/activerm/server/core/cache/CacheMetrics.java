package dev.activerm.server.core.cache;

/**
 * Read-only numbers of one byte-bounded cache, read at scrape time by the metrics binder in
 * the api layer (core stays free of metrics libraries). Counters are cumulative since start.
 */
public interface CacheMetrics {
  /** A short snake_case name, the {@code cache} tag of the series. */
  String name();

  long hits();

  long misses();

  long evictions();

  long entries();

  /** Bytes held now (the weigher's estimate). */
  long bytes();

  /** The bound on bytes. */
  long maxBytes();
}
