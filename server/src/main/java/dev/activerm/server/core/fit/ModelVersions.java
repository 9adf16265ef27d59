package dev.activerm.server.core.fit;

import dev.activerm.server.core.cache.CacheMetrics;
import dev.activerm.server.core.cache.DerivedStateCache;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.model.FittedModel;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.store.ModelRecord;
import dev.activerm.server.store.SqliteStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A project's model versions: the latest lives in its {@link ProjectState} (loaded at start-up,
 * replaced by each Fit); older versions are read from the store into the derived-state cache
 * on demand.
 */
public final class ModelVersions {
  private static final Logger log = LoggerFactory.getLogger(ModelVersions.class);
  static final String CACHE_KIND = "model";

  private final SqliteStore store;
  private final DerivedStateCache cache;

  private ModelVersions(SqliteStore store, DerivedStateCache cache) {
    this.store = store;
    this.cache = cache;
  }

  /**
   * Publishes the latest stored model of every project. Models of deleted projects are deleted
   * with the project; nothing is deleted here on the strength of a missing project row.
   */
  public static ModelVersions load(ProjectRegistry registry, SqliteStore store, DerivedStateCache cache) {
    int loaded = 0;
    for (ProjectState s : registry.states()) {
      ModelRecord r = store.loadModel(s.key(), 0);
      if (r != null) {
        s.publish(ModelRecords.fromRecord(r));
        loaded++;
      }
    }
    log.info("loaded the latest model of {} projects", loaded);
    return new ModelVersions(store, cache);
  }

  /** The cache's non-latest model versions, as metrics see them. */
  public CacheMetrics cacheMetrics() {
    return cache.metrics("model_versions", CACHE_KIND);
  }

  /** Stores a new version durably, then publishes it as the latest. Caller holds the write lock. */
  void storeAndPublish(ProjectState s, FittedModel fitted) {
    store.insertModel(ModelRecords.toRecord(s.key(), fitted));
    s.publish(fitted);
  }

  /** The latest model, or a stored version; FAILED_PRECONDITION before any Fit, NOT_FOUND for unknown versions. */
  FittedModel resolve(ProjectState s, long version) {
    FittedModel newest = s.latest();
    if (newest == null) {
      throw ActiveRmException.failedPrecondition(
          "project '" + s.spec().id() + "' has no fitted model yet; call Fit first (it needs at least one comparison,"
              + " added with AddComparisons)");
    }
    if (version == 0 || version == newest.version()) {
      return newest;
    }
    if (version > newest.version()) {
      throw noSuchVersion(s, version, newest);
    }
    return cache.get(
        new DerivedStateCache.Key(CACHE_KIND, s.key(), version, 0, 0),
        () -> {
          ModelRecord r = store.loadModel(s.key(), version);
          if (r == null) {
            throw noSuchVersion(s, version, newest); // not cached: Caffeine drops a failed load
          }
          return ModelRecords.fromRecord(r);
        },
        m -> 8L * m.model().inputDim() * m.model().featureDim() + 8L * m.model().featureDim() + 256);
  }

  private static ActiveRmException noSuchVersion(ProjectState s, long version, FittedModel newest) {
    return ActiveRmException.notFound(
        "model version " + version + " does not exist in project '" + s.spec().id() + "'; versions run 1.."
            + newest.version() + " (0 means the latest)",
        new FieldViolation("model_version", "no version " + version));
  }
}
