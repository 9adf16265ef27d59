package dev.activerm.server.core.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.stats.CacheStats;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Derived state (labeled-pair sets, lambda I + F(labeled) and its Cholesky factor for
 * SelectBatch; Laplace factors and non-latest model versions for Score) in one Caffeine
 * cache bounded by bytes (--cache-mib), shared by the whole server. Keys carry the project
 * key, model version and labeled-set version (comparisons and pending pairs), so new labels or
 * a new model simply miss: entries are rebuilt, never stale. Hits, misses, evictions, entries
 * and bytes are also kept per key kind, for metrics.
 */
public final class DerivedStateCache {
  private static final Logger log = LoggerFactory.getLogger(DerivedStateCache.class);

  /**
   * (project, model version, labels version, pending version); modelVersion -1 for model-free
   * entries. The labels version is bumped by every add and delete of comparisons (never the
   * count: a delete and an add leave it unchanged).
   */
  public record Key(String kind, long projectKey, long modelVersion, long labelsVersion, long pendingVersion) {}

  private record Entry(Object value, long bytes) {}

  private final Cache<Key, Entry> cache;
  private final long maxBytes;

  public DerivedStateCache(long maxBytes) {
    this.maxBytes = maxBytes;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(Math.max(0, maxBytes / 1024))
        .weigher((Key k, Entry e) -> (int) Math.min(Integer.MAX_VALUE, e.bytes / 1024 + 1))
        .recordStats()
        .evictionListener((Key k, Entry e, RemovalCause cause) -> {
          if (k != null) {
            counter(evictionsByKind, k.kind()).increment();
          }
        })
        .build();
  }

  private final ConcurrentHashMap<String, LongAdder> hitsByKind = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> missesByKind = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> evictionsByKind = new ConcurrentHashMap<>();

  private static LongAdder counter(ConcurrentHashMap<String, LongAdder> m, String kind) {
    return m.computeIfAbsent(kind, k -> new LongAdder());
  }

  public long hits(String kind) {
    return counter(hitsByKind, kind).sum();
  }

  public long misses(String kind) {
    return counter(missesByKind, kind).sum();
  }

  public long evictions(String kind) {
    return counter(evictionsByKind, kind).sum();
  }

  /** Entries of one kind held now. */
  public long entries(String kind) {
    return cache.asMap().keySet().stream().filter(k -> k.kind().equals(kind)).count();
  }

  /** Bytes of one kind held now. */
  public long bytes(String kind) {
    long sum = 0;
    for (var e : cache.asMap().entrySet()) {
      if (e.getKey().kind().equals(kind)) {
        sum += e.getValue().bytes;
      }
    }
    return sum;
  }

  /** The cached value for key, computing (and weighing) it on a miss. */
  @SuppressWarnings("unchecked")
  public <T> T get(Key key, java.util.function.Supplier<T> compute, ToLongFunction<T> bytes) {
    boolean[] missed = new boolean[1];
    Function<Key, Entry> loader = k -> {
      missed[0] = true;
      T v = compute.get();
      return new Entry(v, bytes.applyAsLong(v));
    };
    try {
      return (T) cache.get(key, loader).value;
    } finally {
      counter(missed[0] ? missesByKind : hitsByKind, key.kind()).increment();
    }
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

  /** The whole cache as metrics see it, under the given name. */
  public CacheMetrics metrics(String name) {
    return new View(name, null);
  }

  /** One kind of entry as metrics see it, under the given name; the bound is the shared one. */
  public CacheMetrics metrics(String name, String kind) {
    return new View(name, kind);
  }

  /** A live view of the counters of one kind (kind null: of every kind). */
  private final class View implements CacheMetrics {
    private final String name;
    private final String kind;

    View(String name, String kind) {
      this.name = name;
      this.kind = kind;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public long hits() {
      return kind == null ? cache.stats().hitCount() : DerivedStateCache.this.hits(kind);
    }

    @Override
    public long misses() {
      return kind == null ? cache.stats().missCount() : DerivedStateCache.this.misses(kind);
    }

    @Override
    public long evictions() {
      return kind == null ? cache.stats().evictionCount() : DerivedStateCache.this.evictions(kind);
    }

    @Override
    public long entries() {
      return kind == null ? DerivedStateCache.this.entries() : DerivedStateCache.this.entries(kind);
    }

    @Override
    public long bytes() {
      return kind == null ? DerivedStateCache.this.bytes() : DerivedStateCache.this.bytes(kind);
    }

    @Override
    public long maxBytes() {
      return maxBytes;
    }
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
