package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.model.FittedModel;
import dev.activerm.server.core.model.RewardModel;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One project in memory: its spec, pool, ids, comparisons, selections with their pending
 * pairs, and its latest model. Guarded by its own read-write lock: writers exclude each other
 * and readers; readers share. A deleted project keeps its object for callers already holding
 * it, marked deleted, so every reader takes the lock through {@link #readLock()}.
 */
public final class ProjectState {
  /** How long an upload (or a delete) waits for the upload in progress before it is ABORTED. */
  static final int INGEST_WAIT_SECONDS = 30;

  private final long key;
  private final ProjectSpec spec;
  private final EmbeddingPool pool;
  private final LazyResponseIndex responses;
  private final ComparisonLog comparisons = new ComparisonLog();
  private final SelectionLog selections = new SelectionLog();
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  /**
   * One AddResponses call at a time appends to the pool file; it holds this slot from its
   * first chunk to its commit or abort, so chunks go to disk while later ones are still arriving.
   */
  private final IngestSlot ingest = new IngestSlot();
  /** Fits of one project run one at a time (they train outside the project lock). */
  private final Object fitLock = new Object();
  private boolean deleted;
  /** Latest fitted model version, null before the first Fit; set by Fit, read by Score and SelectBatch. */
  private volatile FittedModel latest;

  /** A new project (no rows yet). */
  ProjectState(long key, ProjectSpec spec) {
    this(key, spec, new LazyResponseIndex());
  }

  /** A stored project whose ids are read by responses' loader on first use. */
  ProjectState(long key, ProjectSpec spec, LazyResponseIndex responses) {
    this.key = key;
    this.spec = spec;
    this.pool = new EmbeddingPool(spec.embeddingDim());
    this.responses = responses;
  }

  /** The store's key of the project (pool file name, database rows, cache keys). */
  public long key() {
    return key;
  }

  public ProjectSpec spec() {
    return spec;
  }

  public EmbeddingPool pool() {
    return pool;
  }

  /**
   * The project's ids by row; the first call after a start reads them from the store
   * ({@link LazyResponseIndex}), and fails (DATA_LOSS) if they are damaged.
   */
  public ResponseIndex responses() {
    return responses.get();
  }

  /** Whether the ids are in memory yet (they are read on first use); for tests. */
  boolean idsLoaded() {
    return responses.loaded();
  }

  /**
   * Shows rows firstRow.. the store has just committed, under the write lock (with the pool's
   * longer map); promptsAfter is the distinct prompt count with them.
   */
  void appendResponses(int firstRow, List<String> ids, List<String> promptIds, int promptsAfter) {
    responses.append(firstRow, ids, promptIds, promptsAfter);
  }

  public ComparisonLog comparisons() {
    return comparisons;
  }

  public SelectionLog selections() {
    return selections;
  }

  public ReentrantReadWriteLock lock() {
    return lock;
  }

  public Object fitLock() {
    return fitLock;
  }

  public FittedModel latest() {
    return latest;
  }

  /** The latest model, or null before the first Fit. */
  public RewardModel latestModel() {
    FittedModel m = latest;
    return m == null ? null : m.model();
  }

  /** Publishes a new latest version (Fit, under the write lock; start-up loading). */
  public void publish(FittedModel model) {
    latest = model;
  }

  /** Takes the read lock, NOT_FOUND (lock released) if the project was deleted meanwhile. */
  public Lock readLock() {
    Lock l = lock.readLock();
    l.lock();
    if (deleted) {
      l.unlock();
      throw notFound(spec.id());
    }
    return l;
  }

  /** NOT_FOUND if the project was deleted; callers hold the write lock. */
  public void checkNotDeleted() {
    if (deleted) {
      throw notFound(spec.id());
    }
  }

  void markDeleted() {
    deleted = true;
  }

  boolean isDeleted() {
    return deleted;
  }

  /**
   * Asks to become the project's one writer of the pool file without holding a thread while
   * waiting: the future completes when the slot is the caller's, or fails with a
   * TimeoutException after {@link #INGEST_WAIT_SECONDS}. See {@link IngestSlot#request()} for
   * withdrawing; {@link IngestClaim} wraps both.
   */
  CompletableFuture<Void> requestIngest() {
    return ingest.request().orTimeout(INGEST_WAIT_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * Becomes the project's one writer of the pool file, blocking (DeleteProject): waits up to
   * {@link #INGEST_WAIT_SECONDS} for the upload in progress, then ABORTED.
   */
  void acquireIngest(String what) {
    CompletableFuture<Void> slot = ingest.request();
    try {
      slot.get(INGEST_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      if (slot.cancel(false)) {
        throw ingestTimeout(what);
      }
      // Handed over while the wait ended: the slot is ours after all.
    } catch (InterruptedException e) {
      if (!slot.cancel(false)) {
        ingest.release();
      }
      Thread.currentThread().interrupt();
      throw ActiveRmException.aborted(what + " was interrupted while waiting for another upload; retry");
    } catch (ExecutionException | CancellationException e) {
      throw new IllegalStateException("the upload slot's future failed unexpectedly", e);
    }
  }

  void releaseIngest() {
    ingest.release();
  }

  /** Whether an upload (or a delete) holds the slot now; for tests. */
  boolean ingestHeld() {
    return ingest.isHeld();
  }

  ActiveRmException ingestTimeout(String what) {
    return ActiveRmException.aborted(
        what + ": another AddResponses call to project '" + spec.id() + "' has been uploading for over "
            + INGEST_WAIT_SECONDS + " s; uploads to one project run one at a time. Retry when it has finished.");
  }

  ProjectInfo info() {
    FittedModel model = latest;
    return new ProjectInfo(
        spec, pool.size(), comparisons.size(), responses.numPrompts(), model == null ? 0 : model.version(),
        selections.pendingCount(), responses.numRetired());
  }

  static ActiveRmException notFound(String id) {
    return ActiveRmException.notFound(
        "project '" + Shown.id(id) + "' does not exist; create it with CreateProject (ListProjects shows the existing ones)",
        new FieldViolation("project_id", "no project '" + Shown.id(id) + "'"));
  }
}
