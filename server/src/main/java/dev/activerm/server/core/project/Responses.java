package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.PoolMap;
import dev.activerm.server.store.SqliteStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * AddResponses (the ingest protocol: open a batch, stream its chunks to the pool file, commit
 * or abort) and ListResponses. A commit fsyncs the rows already written past the pool file's
 * committed end, commits their ids in the database (one BLOB per batch, the moment they
 * exist), then shows them in memory.
 */
public final class Responses {
  private static final Logger log = LoggerFactory.getLogger(Responses.class);
  public static final int MAX_PAGE_SIZE = Pages.MAX_PAGE_SIZE;

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final PoolFiles poolFiles;
  private final Limits limits;

  public Responses(ProjectRegistry registry, SqliteStore store, PoolFiles poolFiles, Limits limits) {
    this.registry = registry;
    this.store = store;
    this.poolFiles = poolFiles;
    this.limits = limits;
  }

  /**
   * Starts an AddResponses call: NOT_FOUND now if the project does not exist, else a place in
   * the project's upload queue. The call becomes the project's one writer when the claim is
   * granted (at once if no other upload is running) and stays it until committed or aborted;
   * a claim not granted within 30 s fails with ABORTED.
   */
  public IngestClaim claim(String projectId) {
    return new IngestClaim(registry.require(projectId), "AddResponses");
  }

  /**
   * Opens the batch of a granted claim (the batch then owns the upload slot). NOT_FOUND if
   * the project was deleted while the call waited; the slot is given back on any failure.
   */
  public ResponseBatch open(IngestClaim claim) {
    if (!claim.granted().isDone() || claim.granted().isCompletedExceptionally()) {
      throw new IllegalStateException("open() before the claim on project '" + claim.projectId() + "' was granted");
    }
    if (!claim.handOver()) {
      throw new IllegalStateException("the claim on project '" + claim.projectId() + "' was withdrawn");
    }
    ProjectState s = claim.state();
    try {
      Lock l = s.readLock();
      try {
        PoolFiles.Writer writer = poolFiles.openWriter(s.key(), s.pool().size(), s.spec().embeddingDim());
        return new ResponseBatch(s, writer, s.spec().id(), s.spec().embeddingDim(), limits.maxCallBytes());
      } finally {
        l.unlock();
      }
    } catch (RuntimeException | Error e) {
      s.releaseIngest();
      throw e;
    }
  }

  /**
   * Drops an AddResponses call that failed or was cancelled: nothing of it is committed and
   * the upload slot is free again. Safe to call more than once (only the first call acts).
   */
  public void abort(ResponseBatch batch) {
    if (!batch.end()) {
      return;
    }
    try {
      batch.writer().close();
    } finally {
      batch.state().releaseIngest();
    }
  }

  /** Commits a whole AddResponses call; returns the project's row count after it. */
  public long commit(ResponseBatch batch) {
    ProjectState s = batch.state();
    try {
      if (batch.size() == 0) {
        throw ActiveRmException.invalid(
            "AddResponses received no rows; send at least one chunk with response_ids, prompt_ids and embeddings",
            new FieldViolation("response_ids", "no rows in the call"));
      }
      int firstRow;
      s.lock().writeLock().lock();
      try {
        s.checkNotDeleted();
        long poolBytes = ((long) s.pool().size() + batch.size()) * batch.dim() * Float.BYTES;
        if (Limits.exceeds(poolBytes, limits.maxPoolBytesPerProject())) {
          throw ActiveRmException.resourceExhausted(
              "project '" + s.spec().id() + "' would hold " + (poolBytes >> 20) + " MiB of embeddings after this call; its"
                  + " limit (--max-pool-mib-per-project) is " + (limits.maxPoolBytesPerProject() >> 20)
                  + " MiB. Nothing was stored; delete unused projects or ask the operator to raise the limit");
        }
        firstRow = s.pool().size();
        s.pool().checkRoomFor(batch.size());
      } finally {
        s.lock().writeLock().unlock();
      }
      long t0 = System.nanoTime();
      batch.writer().sync();
      // Map the new rows before the database commits them, so a failure to map cannot strand a
      // commit: after it, only publishing the map is left. The project is its one writer (the
      // upload slot), so the map extended here is still the current one.
      PoolMap extended = s.pool().extendedBy(batch.writer(), poolFiles, s.key());
      // Only this call appends (the upload slot), so the count is still right at the commit.
      int promptsAfter = s.responses().promptsAfter(batch.promptIds());
      long t1 = System.nanoTime();
      appendIds(s, firstRow, batch, promptsAfter);
      batch.writer().keep();
      long t2 = System.nanoTime();
      s.lock().writeLock().lock();
      try {
        s.pool().publish(extended);
        s.appendResponses(firstRow, batch.ids(), batch.promptIds(), promptsAfter);
      } finally {
        s.lock().writeLock().unlock();
      }
      log.info("project '{}': +{} responses ({} MB) committed in {} ms (pool file sync {} ms, database {} ms)",
          s.spec().id(), batch.size(), (long) batch.size() * batch.dim() * Float.BYTES >> 20,
          (t2 - t0) / 1_000_000, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000);
      return firstRow + batch.size();
    } finally {
      abort(batch);
    }
  }

  /**
   * The commit point of a batch's rows: their ids in the database. A batch carrying another
   * durable write ({@link ResponseBatch#commitWith}, RegisterSelection's selection) commits it
   * in the same transaction, so a failure of either stores neither.
   */
  private void appendIds(ProjectState s, int firstRow, ResponseBatch batch, int promptsAfter) {
    Runnable also = batch.alsoDurable();
    if (also == null) {
      store.appendResponses(s.key(), firstRow, batch.ids(), batch.promptIds(), promptsAfter);
      return;
    }
    store.inOneTransaction("storing responses with the selection that names them", () -> {
      store.appendResponses(s.key(), firstRow, batch.ids(), batch.promptIds(), promptsAfter);
      also.run();
    });
  }

  /**
   * Reads responses back: exactly the given ids (in order), or a page from offset.
   * Embeddings only when asked for; excludeRetired leaves retired rows out of pages.
   */
  public ResponsePage list(String projectId, List<String> ids, long offset, int pageSize, boolean withEmbeddings,
      boolean excludeRetired) {
    ProjectState s = registry.require(projectId);
    Lock l = s.readLock();
    try {
      int[] rows;
      long next = -1;
      if (!ids.isEmpty()) {
        if (ids.size() > MAX_PAGE_SIZE) {
          throw ActiveRmException.invalid(
              "asked for " + ids.size() + " response ids; at most " + MAX_PAGE_SIZE + " per call",
              new FieldViolation("response_ids", "too many ids"));
        }
        rows = RowResolver.rowsOrThrow(s, ids, "response_ids", "Unknown response ids:");
      } else {
        int size = Pages.size(pageSize);
        int total = s.pool().size();
        int from = (int) Math.min(offset, total);
        rows = RetiredRows.page(s.responses(), from, total, size, excludeRetired);
        int to = rows.length == 0 ? from : rows[rows.length - 1] + 1;
        if (excludeRetired) {
          to = RetiredRows.nextLive(s.responses(), to, total);
        }
        next = to < total ? to : -1;
      }
      List<String> outIds = new ArrayList<>(rows.length);
      List<String> outPrompts = new ArrayList<>(rows.length);
      int dim = s.spec().embeddingDim();
      float[] embeddings = withEmbeddings ? new float[rows.length * dim] : null;
      for (int i = 0; i < rows.length; i++) {
        outIds.add(s.responses().id(rows[i]));
        outPrompts.add(s.responses().promptId(rows[i]));
        if (withEmbeddings) {
          s.pool().copyRow(rows[i], embeddings, i * dim);
        }
      }
      boolean[] retired = new boolean[rows.length];
      for (int i = 0; i < rows.length; i++) {
        retired[i] = s.responses().isRetired(rows[i]);
      }
      return new ResponsePage(outIds, outPrompts, embeddings, dim, next, retired);
    } finally {
      l.unlock();
    }
  }
}
