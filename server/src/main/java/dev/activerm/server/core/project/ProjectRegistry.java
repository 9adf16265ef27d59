package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.model.HeadSpec;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.ProjectRecord;
import dev.activerm.server.store.ResponseSummary;
import dev.activerm.server.store.SqliteStore;
import dev.activerm.server.store.StoreException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Lock;
import java.util.function.LongConsumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The projects of one server: start-up loading, CreateProject / GetProject / ListProjects /
 * DeleteProject, and the lookup every other service starts from. Every write is checked in
 * full first, then made durable, and only then applied in memory, so a rejected or failed
 * call leaves no trace and an acknowledged one survives a crash.
 */
public final class ProjectRegistry {
  private static final Logger log = LoggerFactory.getLogger(ProjectRegistry.class);

  private final SqliteStore store;
  private final PoolFiles poolFiles;
  private final Clock clock;
  private final Limits limits;
  private final ConcurrentSkipListMap<String, ProjectState> projects = new ConcurrentSkipListMap<>();
  private final List<LongConsumer> deleteListeners = new CopyOnWriteArrayList<>();
  private final Object lifecycle = new Object();

  private ProjectRegistry(SqliteStore store, PoolFiles poolFiles, Clock clock, Limits limits) {
    this.store = store;
    this.poolFiles = poolFiles;
    this.clock = clock;
    this.limits = limits;
  }

  /**
   * Loads every project from the store: row counts, comparisons and selections from the database,
   * pools mapped from their files; ids are read when a call first needs them (LazyResponseIndex).
   */
  public static ProjectRegistry load(SqliteStore store, PoolFiles poolFiles, Clock clock, Limits limits) {
    long start = System.nanoTime();
    ProjectRegistry registry = new ProjectRegistry(store, poolFiles, clock, limits);
    List<ProjectRecord> records = store.loadProjects();
    Set<Long> keys = new HashSet<>();
    records.forEach(r -> keys.add(r.key()));
    Set<Long> deleted = registry.finishPendingDeletions(keys);
    checkNoUnknownPoolFiles(poolFiles, keys, deleted, records.isEmpty());
    long rows = 0;
    long idNanos = 0;
    long poolNanos = 0;
    for (ProjectRecord r : records) {
      long t0 = System.nanoTime();
      ResponseSummary summary = store.responseSummary(r.key());
      ProjectState state = new ProjectState(r.key(), ProjectRecords.spec(r), new LazyResponseIndex(
          n -> loadIds(store, r, n), summary.rows(), summary.prompts(), summary.retired()));
      int committed = summary.rows();
      long t1 = System.nanoTime();
      try {
        state.pool().publish(poolFiles.map(r.key(), committed, r.embeddingDim()));
      } catch (StoreException e) {
        throw new StoreException("project '" + r.id() + "': " + e.getMessage(), e);
      }
      idNanos += t1 - t0;
      poolNanos += System.nanoTime() - t1;
      store.loadComparisons(r.key(), c -> ProjectRecords.append(state.comparisons(), c));
      Map<Integer, List<Integer>> released = new HashMap<>();
      store.loadReleasedPairs(r.key(), (seq, idx) -> released.computeIfAbsent(seq, k -> new ArrayList<>()).add(idx));
      state.selections().load(store.loadSelections(r.key()), released, state.comparisons(), clock.millis());
      registry.projects.put(r.id(), state);
      rows += committed;
    }
    log.info(
        "loaded {} projects, {} responses in {} ms (row counts {} ms, mapping pool files {} ms; ids are read on"
            + " first use)",
        registry.projects.size(), rows, (System.nanoTime() - start) / 1_000_000, idNanos / 1_000_000,
        poolNanos / 1_000_000);
    return registry;
  }

  /**
   * Reads the ids of a project's first rows rows and its retired rows: the first call that
   * needs ids after a start runs this (LazyResponseIndex). DATA_LOSS (a damaged StoreException)
   * if the ids do not add up, naming the database and how to restore it.
   */
  private static ResponseIndex loadIds(SqliteStore store, ProjectRecord r, int rows) {
    long start = System.nanoTime();
    ResponseIndex index = new ResponseIndex(rows);
    store.loadResponses(r.key(), rows, (id, prompt) -> {
      if (!index.add(id, prompt)) {
        throw StoreException.damaged("activerm.db under --data-dir: project '" + r.id() + "' stores the response id '"
            + Shown.id(id) + "' twice (rows " + index.rowOf(id) + " and " + index.size()
            + "). Nothing wrong was served; restore the data dir from a backup (docs/operations.md, 'Backup and"
            + " restore')");
      }
    });
    for (int row : store.loadRetiredRows(r.key())) {
      if (row < 0 || row >= rows) {
        throw StoreException.damaged("activerm.db under --data-dir: project '" + r.id() + "' has retired row " + row
            + " of " + rows + ". Nothing wrong was served; restore the data dir from a backup (docs/operations.md,"
            + " 'Backup and restore')");
      }
      index.retire(row);
    }
    log.info("project '{}': read {} response ids in {} ms (their first use since the start)", r.id(), rows,
        (System.nanoTime() - start) / 1_000_000);
    return index;
  }

  /**
   * Removes the pool files of deletes that committed but stopped before their files were gone.
   * Only what a DeleteProject recorded is removed: a pool file is never deleted because the
   * database merely lacks its project.
   */
  private Set<Long> finishPendingDeletions(Set<Long> liveKeys) {
    Set<Long> pending = new HashSet<>(store.pendingFileDeletions());
    for (long key : pending) {
      if (!liveKeys.contains(key)) {
        removePoolFiles(key);
      }
    }
    return pending;
  }

  /** Deletes a deleted project's files, then forgets the pending deletion; what fails is retried at the next start. */
  private void removePoolFiles(long key) {
    try {
      poolFiles.delete(key);
      store.fileDeletionDone(key);
    } catch (StoreException e) {
      log.warn("could not finish removing the pool files of deleted project key {} ({}); retried at the next start",
          key, e.getMessage());
    }
  }

  /**
   * Refuses a data dir whose pool files belong to projects the database does not have: the
   * database is missing, empty or older than the pool files (a wrong restore, a lost or
   * damaged WAL). Those files are the only copy of their embeddings, so the operator decides.
   */
  private static void checkNoUnknownPoolFiles(
      PoolFiles poolFiles, Set<Long> liveKeys, Set<Long> deleted, boolean databaseEmpty) {
    java.util.SortedSet<Long> unknown = poolFiles.keysOnDisk();
    unknown.removeAll(liveKeys);
    unknown.removeAll(deleted);
    if (unknown.isEmpty()) {
      return;
    }
    String files = unknown.size() + " pool files (" + poolFiles.dir() + "/" + unknown.first() + ".f32"
        + (unknown.size() > 1 ? " and " + (unknown.size() - 1) + " more" : "") + ")";
    String what = databaseEmpty
        ? "activerm.db holds no projects (it is missing, empty or was replaced), but there are " + files
        : "there are " + files + " of projects that activerm.db does not have, and it records no DeleteProject of"
            + " them (activerm.db is older than pools/: restored from another backup, or its -wal file was lost"
            + " or damaged)";
    throw new StoreException(what + ". Nothing was deleted and the server does not start: restore activerm.db"
        + " together with its activerm.db-wal from the backup that matches pools/ (docs/operations.md, 'Backup"
        + " and restore'); if those projects are really gone, move their pools/<key>.f32 and .crc files out of"
        + " pools/ yourself.");
  }

  public ProjectInfo createProject(String id, int embeddingDim, HeadSpec head, double l2, long pendingTtlMillis) {
    ProjectSpec spec = ProjectSpec.create(
        id, embeddingDim, head, l2, pendingTtlMillis, Instant.ofEpochMilli(clock.millis()));
    synchronized (lifecycle) {
      if (projects.containsKey(id)) {
        throw ActiveRmException.alreadyExists(
            "project '" + id + "' already exists; choose another project_id, or DeleteProject it first",
            new FieldViolation("project_id", "'" + id + "' is taken"));
      }
      if (limits.maxProjects() > 0 && projects.size() >= limits.maxProjects()) {
        throw ActiveRmException.resourceExhausted(
            "the server holds " + projects.size() + " projects and its limit (--max-projects) is "
                + limits.maxProjects() + "; delete projects you no longer need, or ask the operator to raise the limit");
      }
      long key = store.insertProject(ProjectRecords.toRecord(spec));
      ProjectState state = new ProjectState(key, spec);
      projects.put(id, state);
      log.info("created project '{}' (dim {}, head {}, l2 {})", id, embeddingDim, spec.head(), spec.l2());
      return state.info();
    }
  }

  public ProjectInfo getProject(String id) {
    ProjectState s = require(id);
    expirePending(s);
    Lock l = s.readLock();
    try {
      return s.info();
    } finally {
      l.unlock();
    }
  }

  /** Projects with ids after afterId (null: from the start) that the caller may see, in id order. */
  public ProjectPage listProjects(String afterId, int pageSize, Predicate<String> visible) {
    int size = pageSize == 0 ? 100 : pageSize;
    if (size < 0 || size > 1000) {
      throw ActiveRmException.invalid(
          "page_size is " + pageSize + "; use 1..1000 (0 means 100)",
          new FieldViolation("page_size", "must be 0..1000"));
    }
    Map<String, ProjectState> tail = afterId == null ? projects : projects.tailMap(afterId, false);
    List<ProjectInfo> out = new ArrayList<>();
    String last = null;
    boolean more = false;
    for (ProjectState s : tail.values()) {
      if (!visible.test(s.spec().id())) {
        continue;
      }
      if (out.size() == size) {
        more = true;
        break;
      }
      expirePendingQuietly(s);
      Lock l = s.lock().readLock();
      l.lock();
      try {
        if (!s.isDeleted()) {
          out.add(s.info());
          last = s.spec().id();
        }
      } finally {
        l.unlock();
      }
    }
    return new ProjectPage(out, more ? last : null);
  }

  /**
   * Runs listener with the project key after every delete, under the project's write lock
   * (so a writer that checks deletion under that lock cannot re-add what it drops). For
   * in-memory state held outside ProjectState, such as cached derived state.
   */
  public void onDelete(LongConsumer listener) {
    deleteListeners.add(listener);
  }

  public void deleteProject(String id) {
    synchronized (lifecycle) {
      ProjectState s = require(id);
      // Wait for an upload in progress, so it cannot write into the file being deleted.
      s.acquireIngest("DeleteProject");
      s.lock().writeLock().lock();
      try {
        store.deleteProject(s.key());
        s.markDeleted();
        projects.remove(id);
        deleteListeners.forEach(l -> l.accept(s.key()));
        // No reader can reach the rows now (readers check the mark under the read lock).
        s.pool().release();
      } finally {
        s.lock().writeLock().unlock();
        s.releaseIngest();
      }
      // After the commit, which recorded the pending deletion: a crash before this line leaves
      // the file to the next start (finishPendingDeletions).
      removePoolFiles(s.key());
      log.info("deleted project '{}'", id);
    }
  }

  /** The live project with this id; INVALID_ARGUMENT for a malformed id, NOT_FOUND for an unknown one. */
  public ProjectState require(String id) {
    Identifiers.require("project_id", id);
    ProjectState s = projects.get(id);
    if (s == null) {
      throw ProjectState.notFound(id);
    }
    return s;
  }

  /** The server clock every lifecycle decision reads (pending TTLs, create and delete times). */
  public Clock clock() {
    return clock;
  }

  /**
   * Releases the project's pending pairs whose TTL has passed, before a read of pending state:
   * the TTL is evaluated lazily with the server clock, so no background thread is needed. Takes
   * the write lock only when something is due. NOT_FOUND if the project was deleted.
   */
  public void expirePending(ProjectState s) {
    long now = clock.millis();
    if (!s.selections().expiryDue(now)) {
      return;
    }
    s.lock().writeLock().lock();
    try {
      s.checkNotDeleted();
      int n = s.selections().expire(now);
      if (n > 0) {
        log.info("project '{}': {} pending pairs expired (pending_ttl)", s.spec().id(), n);
      }
    } finally {
      s.lock().writeLock().unlock();
    }
  }

  private void expirePendingQuietly(ProjectState s) {
    try {
      expirePending(s);
    } catch (ActiveRmException deletedMeanwhile) {
      // ListProjects skips a project deleted while it pages.
    }
  }

  /** Every live project, in id order (start-up loading by other services). */
  public Collection<ProjectState> states() {
    return projects.values();
  }

  /** For gauges: read without locks, so a value may be a moment old. */
  public long projectCount() {
    return projects.size();
  }

  public long responseCount() {
    return projects.values().stream().mapToLong(s -> s.pool().size()).sum();
  }

  public long comparisonCount() {
    return projects.values().stream().mapToLong(s -> s.comparisons().size()).sum();
  }

  /** Latest models held in memory: one per project that has been fitted. */
  public long modelsInMemory() {
    return projects.values().stream().filter(s -> s.latest() != null).count();
  }
}
