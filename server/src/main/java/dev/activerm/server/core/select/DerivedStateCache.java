package dev.activerm.server.core.select;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Derived selection state (labeled-pair sets, lambda I + F(labeled) and its Cholesky factor)
 * in one Caffeine cache bounded by bytes (--cache-mib). Keys carry the project key, model
 * version and labeled-set version (comparisons and pending pairs), so new labels or a new
 * model simply miss: entries are rebuilt, never stale.
 */
public final class DerivedStateCache {
  private static final Logger log = LoggerFactory.getLogger(DerivedStateCache.class);

  /** (project, model version, comparisons, pending version); modelVersion -1 for model-free entries. */
  public record Key(String kind, long projectKey, long modelVersion, long numComparisons, long pendingVersion) {}

  private record Entry(Object value, long bytes) {}

  private final Cache<Key, Entry> cache;
  private final long maxBytes;

  public DerivedStateCache(long maxBytes) {
    this.maxBytes = maxBytes;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(Math.max(0, maxBytes / 1024))
        .weigher((Key k, Entry e) -> (int) Math.min(Integer.MAX_VALUE, e.bytes / 1024 + 1))
        .recordStats()
        .build();
  }

  /** The cached value for key, computing (and weighing) it on a miss. */
  @SuppressWarnings("unchecked")
  public <T> T get(Key key, java.util.function.Supplier<T> compute, ToLongFunction<T> bytes) {
    Function<Key, Entry> loader = k -> {
      T v = compute.get();
      return new Entry(v, bytes.applyAsLong(v));
    };
    return (T) cache.get(key, loader).value;
  }

  public CacheStats stats() {
    return cache.stats();
  }

  /** Bytes held now: the sum of the entries' own sizes (a handful of entries, cheap to sum). */
  public long bytes() {
    long sum = 0;
    for (Entry e : cache.asMap().values()) {
      sum += e.bytes;
    }
    return sum;
  }

  public long maxBytes() {
    return maxBytes;
  }

  public long entries() {
    return cache.estimatedSize();
  }

  /** Drops every entry of a project (on delete). */
  public void invalidateProject(long projectKey) {
    cache.asMap().keySet().removeIf(k -> k.projectKey() == projectKey);
  }

  public void logStats(String context) {
    CacheStats s = cache.stats();
    log.info("derived-state cache after {}: {} hits, {} misses, {} evictions, ~{} KiB of {} KiB",
        context, s.hitCount(), s.missCount(), s.evictionCount(),
        cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L), maxBytes / 1024);
  }
}
