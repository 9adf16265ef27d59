package dev.activerm.server.core;

import dev.activerm.server.store.ComparisonRecord;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.ProjectRecord;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The projects of one server, the domain's front door. Every write is checked in full
 * first, then made durable (pool file, then the database commit), and only then applied
 * in memory, so a rejected or failed call leaves no trace and an acknowledged one
 * survives a crash.
 */
public final class ProjectRegistry {
  private static final Logger log = LoggerFactory.getLogger(ProjectRegistry.class);
  public static final int MAX_PAGE_SIZE = 100_000;
  public static final int MAX_COMPARISONS_PER_CALL = 1_000_000;
  public static final double MAX_WEIGHT = 1e6;

  private final SqliteStore store;
  private final PoolFiles poolFiles;
  private final Clock clock;
  private final Limits limits;
  private final Map<String, ProjectState> projects = new ConcurrentSkipListMap<>();
  private final List<LongConsumer> deleteListeners = new CopyOnWriteArrayList<>();
  private final Object lifecycle = new Object();

  private ProjectRegistry(SqliteStore store, PoolFiles poolFiles, Clock clock, Limits limits) {
    this.store = store;
    this.poolFiles = poolFiles;
    this.clock = clock;
    this.limits = limits;
  }

  /** Loads every project from the store: ids and comparisons from the database, pools from their files. */
  public static ProjectRegistry load(SqliteStore store, PoolFiles poolFiles, Clock clock, Limits limits) {
    long start = System.nanoTime();
    ProjectRegistry registry = new ProjectRegistry(store, poolFiles, clock, limits);
    Set<Long> keys = new HashSet<>();
    long rows = 0;
    long idNanos = 0;
    long poolNanos = 0;
    for (ProjectRecord r : store.loadProjects()) {
      HeadSpec head = new HeadSpec(HeadType.valueOf(r.headType()), r.hiddenSizes());
      ProjectSpec spec = new ProjectSpec(
          r.id(), r.embeddingDim(), head, r.l2(), Instant.ofEpochMilli(r.createTimeMillis()));
      ProjectState state = new ProjectState(r.key(), spec);
      List<String> ids = new ArrayList<>();
      List<String> promptIds = new ArrayList<>();
      long t0 = System.nanoTime();
      int committed = store.loadResponses(r.key(), (id, prompt) -> {
        ids.add(id);
        promptIds.add(prompt);
      });
      state.responses.append(ids, promptIds);
      long t1 = System.nanoTime();
      state.pool.reserve(committed);
      poolFiles.read(r.key(), committed, r.embeddingDim(), state.pool.shardRows(), state.pool::append);
      idNanos += t1 - t0;
      poolNanos += System.nanoTime() - t1;
      store.loadComparisons(r.key(), c -> state.comparisons.append(
          c.aRow(), c.bRow(), Outcome.values()[c.outcome()], c.weight(), c.annotatorId(), c.createTimeMillis()));
      state.selections.load(store.loadSelections(r.key()), state.comparisons);
      registry.projects.put(r.id(), state);
      keys.add(r.key());
      rows += committed;
    }
    int orphans = poolFiles.deleteOrphans(keys);
    log.info(
        "loaded {} projects, {} responses in {} ms (ids {} ms, pool files {} ms){}",
        registry.projects.size(), rows, (System.nanoTime() - start) / 1_000_000, idNanos / 1_000_000,
        poolNanos / 1_000_000,
        orphans > 0 ? " (removed " + orphans + " pool files of deleted projects)" : "");
    return registry;
  }

  public ProjectInfo createProject(String id, int embeddingDim, HeadSpec head, double l2) {
    ProjectSpec spec = ProjectSpec.create(id, embeddingDim, head, l2, Instant.ofEpochMilli(clock.millis()));
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
      long key = store.insertProject(new ProjectRecord(
          0, id, embeddingDim, spec.head().type().name(), spec.head().hiddenSizes(), spec.l2(),
          spec.createTime().toEpochMilli()));
      ProjectState state = new ProjectState(key, spec);
      projects.put(id, state);
      log.info("created project '{}' (dim {}, head {}, l2 {})", id, embeddingDim, spec.head(), spec.l2());
      return state.info();
    }
  }

  public ProjectInfo getProject(String id) {
    ProjectState s = require(id);
    Lock l = readLock(s);
    try {
      return s.info();
    } finally {
      l.unlock();
    }
  }

  /** Projects with ids after afterId (null: from the start) that the caller may see, in id order. */
  public ProjectPage listProjects(String afterId, int pageSize, java.util.function.Predicate<String> visible) {
    int size = pageSize == 0 ? 100 : pageSize;
    if (size < 0 || size > 1000) {
      throw ActiveRmException.invalid(
          "page_size is " + pageSize + "; use 1..1000 (0 means 100)",
          new FieldViolation("page_size", "must be 0..1000"));
    }
    Map<String, ProjectState> tail = afterId == null
        ? projects
        : ((ConcurrentSkipListMap<String, ProjectState>) projects).tailMap(afterId, false);
    List<ProjectInfo> out = new ArrayList<>();
    String last = null;
    boolean more = false;
    for (ProjectState s : tail.values()) {
      if (!visible.test(s.spec.id())) {
        continue;
      }
      if (out.size() == size) {
        more = true;
        break;
      }
      Lock l = readLock(s);
      try {
        if (!s.deleted) {
          out.add(s.info());
          last = s.spec.id();
        }
      } finally {
        l.unlock();
      }
    }
    return new ProjectPage(out, more ? last : null);
  }

  /**
   * Runs listener with the project key after every delete, under the project's write lock
   * (so a writer that checks {@code deleted} under that lock cannot re-add what it drops).
   * For in-memory state held outside ProjectState: latest models, cached derived state.
   */
  public void onDelete(LongConsumer listener) {
    deleteListeners.add(listener);
  }

  public void deleteProject(String id) {
    synchronized (lifecycle) {
      ProjectState s = require(id);
      // Wait for an upload in progress, so it cannot write into the file being deleted.
      acquireIngest(s, "DeleteProject");
      s.lock.writeLock().lock();
      try {
        store.deleteProject(s.key);
        s.deleted = true;
        projects.remove(id);
        deleteListeners.forEach(l -> l.accept(s.key));
      } finally {
        s.lock.writeLock().unlock();
        s.ingest.release();
      }
      // After the commit: a crash before this line leaves an orphan file, removed at next start.
      poolFiles.delete(s.key);
      log.info("deleted project '{}'", id);
    }
  }

  /**
   * Starts an AddResponses call: NOT_FOUND now if the project does not exist. The call
   * becomes the project's one writer until it is committed or aborted; a second call waits
   * up to {@link #INGEST_WAIT_SECONDS} for it, then gets ABORTED.
   */
  public ResponseBatch newResponseBatch(String projectId) {
    ProjectState s = require(projectId);
    acquireIngest(s, "AddResponses");
    try {
      Lock l = readLock(s);
      try {
        PoolFiles.Writer writer = poolFiles.openWriter(s.key, s.pool.size(), s.spec.embeddingDim());
        return new ResponseBatch(s, writer, projectId, s.spec.embeddingDim(), limits.maxCallBytes());
      } finally {
        l.unlock();
      }
    } catch (RuntimeException | Error e) {
      s.ingest.release();
      throw e;
    }
  }

  /** Drops an AddResponses call that failed or was cancelled: nothing of it is committed. */
  public void abortResponses(ResponseBatch batch) {
    try {
      batch.writer().close();
    } finally {
      batch.state().ingest.release();
    }
  }

  /**
   * Commits a whole AddResponses call: fsync the rows already written to the pool file,
   * commit their ids in the database (the moment they exist), then show them in memory.
   */
  public long addResponses(ResponseBatch batch) {
    ProjectState s = batch.state();
    try {
      if (batch.size() == 0) {
        throw ActiveRmException.invalid(
            "AddResponses received no rows; send at least one chunk with response_ids, prompt_ids and embeddings",
            new FieldViolation("response_ids", "no rows in the call"));
      }
      int firstRow;
      s.lock.writeLock().lock();
      try {
        checkNotDeleted(s);
        long poolBytes = ((long) s.pool.size() + batch.size()) * batch.dim() * Float.BYTES;
        if (Limits.exceeds(poolBytes, limits.maxPoolBytesPerProject())) {
          throw ActiveRmException.resourceExhausted(
              "project '" + s.spec.id() + "' would hold " + (poolBytes >> 20) + " MiB of embeddings after this call; its"
                  + " limit (--max-pool-mib-per-project) is " + (limits.maxPoolBytesPerProject() >> 20)
                  + " MiB. Nothing was stored; delete unused projects or ask the operator to raise the limit");
        }
        firstRow = s.pool.size();
        // Allocate before anything is durable, so running out of memory cannot strand a commit.
        s.pool.reserve(batch.size());
      } finally {
        s.lock.writeLock().unlock();
      }
      long t0 = System.nanoTime();
      batch.writer().sync();
      long t1 = System.nanoTime();
      store.appendResponses(s.key, firstRow, batch.ids(), batch.promptIds());
      long t2 = System.nanoTime();
      s.lock.writeLock().lock();
      try {
        for (float[] chunk : batch.chunks()) {
          s.pool.append(chunk);
        }
        s.responses.append(batch.ids(), batch.promptIds());
      } finally {
        s.lock.writeLock().unlock();
      }
      log.info("project '{}': +{} responses ({} MB) committed in {} ms (pool file sync {} ms, database {} ms)",
          s.spec.id(), batch.size(), (long) batch.size() * batch.dim() * Float.BYTES >> 20,
          (t2 - t0) / 1_000_000, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
      return firstRow + batch.size();
    } finally {
      abortResponses(batch);
    }
  }

  static final int INGEST_WAIT_SECONDS = 30;

  private static void acquireIngest(ProjectState s, String what) {
    try {
      if (!s.ingest.tryAcquire(INGEST_WAIT_SECONDS, TimeUnit.SECONDS)) {
        throw ActiveRmException.aborted(
            what + ": another AddResponses call to project '" + s.spec.id() + "' has been uploading for over "
                + INGEST_WAIT_SECONDS + " s; uploads to one project run one at a time. Retry when it has finished.");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ActiveRmException.aborted(what + " was interrupted while waiting for another upload; retry");
    }
  }

  /**
   * Reads responses back: exactly the given ids (in order), or a page from offset.
   * Embeddings only when asked for.
   */
  public ResponsePage listResponses(String projectId, List<String> ids, long offset, int pageSize, boolean withEmbeddings) {
    ProjectState s = require(projectId);
    Lock l = readLock(s);
    try {
      int[] rows;
      long next = -1;
      if (!ids.isEmpty()) {
        if (ids.size() > MAX_PAGE_SIZE) {
          throw ActiveRmException.invalid(
              "asked for " + ids.size() + " response ids; at most " + MAX_PAGE_SIZE + " per call",
              new FieldViolation("response_ids", "too many ids"));
        }
        rows = rowsOf(s, ids, "response_ids");
      } else {
        int size = checkPageSize(pageSize);
        int total = s.pool.size();
        int from = (int) Math.min(offset, total);
        int to = (int) Math.min((long) from + size, total);
        rows = new int[to - from];
        for (int i = 0; i < rows.length; i++) {
          rows[i] = from + i;
        }
        next = to < total ? to : -1;
      }
      List<String> outIds = new ArrayList<>(rows.length);
      List<String> outPrompts = new ArrayList<>(rows.length);
      int dim = s.spec.embeddingDim();
      float[] embeddings = withEmbeddings ? new float[rows.length * dim] : null;
      for (int i = 0; i < rows.length; i++) {
        outIds.add(s.responses.id(rows[i]));
        outPrompts.add(s.responses.promptId(rows[i]));
        if (withEmbeddings) {
          s.pool.copyRow(rows[i], embeddings, i * dim);
        }
      }
      return new ResponsePage(outIds, outPrompts, embeddings, dim, next);
    } finally {
      l.unlock();
    }
  }

  /** Result of an AddComparisons call. */
  public record AddComparisonsResult(long added, long total, long pendingResolved) {}

  /** Stores comparisons atomically after checking every one (ids, outcome, weight). */
  public AddComparisonsResult addComparisons(String projectId, List<ComparisonInput> inputs) {
    ProjectState s = require(projectId);
    if (inputs.isEmpty() || inputs.size() > MAX_COMPARISONS_PER_CALL) {
      throw ActiveRmException.invalid(
          "AddComparisons carries " + inputs.size() + " comparisons; send 1.." + MAX_COMPARISONS_PER_CALL
              + " per call (split larger sets)",
          new FieldViolation("comparisons", "must hold 1.." + MAX_COMPARISONS_PER_CALL + " items"));
    }
    Violations invalid = new Violations();
    for (int i = 0; i < inputs.size(); i++) {
      ComparisonInput c = inputs.get(i);
      String f = "comparisons[" + i + "]";
      String pa = Identifiers.problem(c.aId());
      if (pa != null) {
        invalid.add(f + ".a_id", pa);
      }
      String pb = Identifiers.problem(c.bId());
      if (pb != null) {
        invalid.add(f + ".b_id", pb);
      }
      if (pa == null && c.aId().equals(c.bId())) {
        invalid.add(f + ".b_id", "equals a_id ('" + c.aId() + "'); a response cannot be compared with itself");
      }
      if (c.outcome() == null) {
        invalid.add(f + ".outcome", "is unset; use OUTCOME_A, OUTCOME_B or OUTCOME_TIE");
      }
      if (c.weight() != 0 && !(c.weight() > 0 && c.weight() <= MAX_WEIGHT)) {
        invalid.add(f + ".weight", "is " + c.weight() + "; use a finite weight in (0, " + MAX_WEIGHT + "] (0 means 1.0)");
      }
      if (!c.annotatorId().isEmpty()) {
        String pn = Identifiers.problem(c.annotatorId());
        if (pn != null) {
          invalid.add(f + ".annotator_id", pn);
        }
      }
    }
    invalid.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid AddComparisons request; nothing was stored:");

    s.lock.writeLock().lock();
    try {
      checkNotDeleted(s);
      Violations missing = new Violations();
      int[] aRows = new int[inputs.size()];
      int[] bRows = new int[inputs.size()];
      for (int i = 0; i < inputs.size(); i++) {
        ComparisonInput c = inputs.get(i);
        aRows[i] = s.responses.rowOf(c.aId());
        bRows[i] = s.responses.rowOf(c.bId());
        if (aRows[i] < 0) {
          missing.add("comparisons[" + i + "].a_id", "'" + c.aId() + "' is not a response of project '" + projectId + "'");
        }
        if (bRows[i] < 0) {
          missing.add("comparisons[" + i + "].b_id", "'" + c.bId() + "' is not a response of project '" + projectId + "'");
        }
      }
      missing.throwIfAny(
          ActiveRmException.Kind.NOT_FOUND,
          "AddComparisons names responses that are not in project '" + projectId
              + "'; add them with AddResponses first. Nothing was stored:");
      long now = clock.millis();
      List<ComparisonRecord> records = new ArrayList<>(inputs.size());
      for (int i = 0; i < inputs.size(); i++) {
        ComparisonInput c = inputs.get(i);
        double w = c.weight() == 0 ? 1.0 : c.weight();
        records.add(new ComparisonRecord(aRows[i], bRows[i], c.outcome().ordinal(), w, c.annotatorId(), now));
      }
      int firstSeq = s.comparisons.size();
      store.appendComparisons(s.key, firstSeq, records);
      for (ComparisonRecord r : records) {
        s.comparisons.append(r.aRow(), r.bRow(), Outcome.values()[r.outcome()], r.weight(), r.annotatorId(), now);
      }
      long resolved = s.selections.resolve(aRows, bRows);
      return new AddComparisonsResult(records.size(), s.comparisons.size(), resolved);
    } finally {
      s.lock.writeLock().unlock();
    }
  }

  public ComparisonPage listComparisons(String projectId, long offset, int pageSize) {
    ProjectState s = require(projectId);
    int size = checkPageSize(pageSize);
    Lock l = readLock(s);
    try {
      int total = s.comparisons.size();
      int from = (int) Math.min(offset, total);
      int to = (int) Math.min((long) from + size, total);
      List<Comparison> out = new ArrayList<>(to - from);
      for (int i = from; i < to; i++) {
        out.add(new Comparison(
            s.responses.id(s.comparisons.aRow(i)),
            s.responses.id(s.comparisons.bRow(i)),
            s.comparisons.outcome(i),
            s.comparisons.annotator(i),
            s.comparisons.weight(i),
            Instant.ofEpochMilli(s.comparisons.createMillis(i))));
      }
      return new ComparisonPage(out, to < total ? to : -1);
    } finally {
      l.unlock();
    }
  }

  /** For gauges: read without locks, so a value may be a moment old. */
  public long projectCount() {
    return projects.size();
  }

  public long responseCount() {
    return projects.values().stream().mapToLong(s -> s.pool.size()).sum();
  }

  public long comparisonCount() {
    return projects.values().stream().mapToLong(s -> s.comparisons.size()).sum();
  }

  private static int checkPageSize(int pageSize) {
    int size = pageSize == 0 ? 1000 : pageSize;
    if (size < 1 || size > MAX_PAGE_SIZE) {
      throw ActiveRmException.invalid(
          "page_size is " + pageSize + "; use 1.." + MAX_PAGE_SIZE + " (0 means 1000)",
          new FieldViolation("page_size", "must be 0.." + MAX_PAGE_SIZE));
    }
    return size;
  }

  private static int[] rowsOf(ProjectState s, List<String> ids, String field) {
    Violations missing = new Violations();
    int[] rows = new int[ids.size()];
    for (int i = 0; i < ids.size(); i++) {
      rows[i] = s.responses.rowOf(ids.get(i));
      if (rows[i] < 0) {
        missing.add(field + "[" + i + "]", "'" + ids.get(i) + "' is not a response of project '" + s.spec.id() + "'");
      }
    }
    missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND, "Unknown response ids:");
    return rows;
  }

  /** The store, for other core services that persist their own tables (models, selections). */
  SqliteStore store() {
    return store;
  }

  Clock clock() {
    return clock;
  }

  /** Every live project, in id order (for start-up loading by other core services). */
  java.util.Collection<ProjectState> states() {
    return projects.values();
  }

  ProjectState require(String id) {
    Identifiers.require("project_id", id);
    ProjectState s = projects.get(id);
    if (s == null) {
      throw notFound(id);
    }
    return s;
  }

  static Lock readLock(ProjectState s) {
    Lock l = s.lock.readLock();
    l.lock();
    if (s.deleted) {
      l.unlock();
      throw notFound(s.spec.id());
    }
    return l;
  }

  static void checkNotDeleted(ProjectState s) {
    if (s.deleted) {
      throw notFound(s.spec.id());
    }
  }

  private static ActiveRmException notFound(String id) {
    return ActiveRmException.notFound(
        "project '" + id + "' does not exist; create it with CreateProject (ListProjects shows the existing ones)",
        new FieldViolation("project_id", "no project '" + id + "'"));
  }
}
