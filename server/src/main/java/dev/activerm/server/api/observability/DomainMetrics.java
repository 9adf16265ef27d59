package dev.activerm.server.api.observability;

import dev.activerm.server.core.cache.CacheMetrics;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.core.strategy.Strategy;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;

/**
 * The domain's meters: fit durations per head type, selection durations per strategy, and
 * the caches (hits, misses, evictions, entries, bytes) read from core's plain counters at
 * scrape time. Cache series use Micrometer's cache names ({@code cache_gets_total{result}},
 * {@code cache_evictions_total}, {@code cache_size}) plus {@code activerm_cache_bytes} and
 * {@code activerm_cache_max_bytes}, all tagged {@code cache=<name>}.
 */
public final class DomainMetrics {
  private final MeterRegistry registry;
  private final Map<HeadType, Timer> fits = new EnumMap<>(HeadType.class);
  private final Map<Strategy, Timer> selections = new EnumMap<>(Strategy.class);
  private final List<CacheMetrics> bound = new CopyOnWriteArrayList<>();

  public DomainMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (HeadType head : HeadType.values()) {
      fits.put(head, Timer.builder("activerm.fit.duration")
          .description("training time of successful Fit calls (snapshot and training, not the wait for the project fit lock)")
          .tag("head", head.name())
          .register(registry));
    }
    for (Strategy strategy : Strategy.values()) {
      selections.put(strategy, Timer.builder("activerm.select.duration")
          .description("wall time of successful SelectBatch calls, request to stored selection (with lock waits)")
          .tag("strategy", strategy.name())
          .register(registry));
    }
  }

  /** Meters that go nowhere (for services built without a server, e.g. in tests). */
  public static DomainMetrics detached() {
    return new DomainMetrics(new SimpleMeterRegistry());
  }

  public void recordFit(HeadType head, Duration wall) {
    fits.get(head).record(wall);
  }

  public void recordSelection(Strategy strategy, Duration wall) {
    selections.get(strategy).record(wall);
  }

  /** activerm_models_in_memory: the latest models held in memory (one per fitted, undeleted project). */
  public void bindModelsInMemory(LongSupplier count) {
    Gauge.builder("activerm.models.in.memory", count, c -> c.getAsLong())
        .description("latest models held in memory, one per fitted project")
        .strongReference(true)
        .register(registry);
  }

  /**
   * Registers the cache's series; they read the cache's counters at every scrape. Micrometer
   * holds the view weakly, so this keeps it (views are often created just for this call).
   */
  public void bindCache(CacheMetrics cache) {
    bound.add(cache);
    String name = cache.name();
    FunctionCounter.builder("cache.gets", cache, CacheMetrics::hits)
        .tags("cache", name, "result", "hit").description("lookups that found an entry").register(registry);
    FunctionCounter.builder("cache.gets", cache, CacheMetrics::misses)
        .tags("cache", name, "result", "miss").description("lookups that computed the entry").register(registry);
    FunctionCounter.builder("cache.evictions", cache, CacheMetrics::evictions)
        .tags("cache", name).description("entries evicted to stay under the byte bound").register(registry);
    Gauge.builder("cache.size", cache, CacheMetrics::entries)
        .tags("cache", name).description("entries in the cache").register(registry);
    Gauge.builder("activerm.cache.bytes", cache, CacheMetrics::bytes)
        .tags("cache", name).baseUnit("bytes").description("bytes held by the cache (weigher estimate)").register(registry);
    Gauge.builder("activerm.cache.max.bytes", cache, CacheMetrics::maxBytes)
        .tags("cache", name).baseUnit("bytes").description("the cache's byte bound").register(registry);
  }
}
