package dev.activerm.server.core;

import dev.activerm.server.core.model.RewardModel;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One project in memory: its spec, pool, ids and comparisons. Guarded by its own
 * read-write lock: writers (ingestion) exclude each other and readers; readers share.
 * A deleted project keeps its object for callers already holding it, marked deleted.
 */
final class ProjectState {
  final long key;
  final ProjectSpec spec;
  final EmbeddingPool pool;
  final ResponseIndex responses = new ResponseIndex();
  final ComparisonLog comparisons = new ComparisonLog();
  /** Stored selections and pending pairs (SelectBatch). */
  final SelectionLog selections = new SelectionLog();
  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  /**
   * One AddResponses call at a time appends to the pool file; it holds this permit from its
   * first chunk to its commit, so chunks go to disk while later ones are still arriving.
   */
  final Semaphore ingest = new Semaphore(1);
  boolean deleted;
  /** Latest fitted model, null before the first Fit; set by Fit, read by Score and SelectBatch. */
  volatile RewardModel latestModel;

  ProjectState(long key, ProjectSpec spec) {
    this.key = key;
    this.spec = spec;
    this.pool = new EmbeddingPool(spec.embeddingDim());
  }

  ProjectInfo info() {
    RewardModel model = latestModel;
    return new ProjectInfo(
        spec, pool.size(), comparisons.size(), responses.numPrompts(), model == null ? 0 : model.version(),
        selections.pendingCount());
  }
}
