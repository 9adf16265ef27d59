package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.PoolMap;

/**
 * A project's embeddings: the committed rows of its pool file, read through a memory mapping
 * ({@link PoolMap}), so they live in the page cache rather than the heap. Append-only: a
 * commit publishes a longer map under the project write lock; readers hold the read lock, so
 * each read sees one map whose rows are all durable and committed.
 */
public final class EmbeddingPool implements RowSource {
  private final int dim;
  /** Null until the project has rows. */
  private volatile PoolMap map;

  public EmbeddingPool(int dim) {
    this.dim = dim;
  }

  @Override
  public int rows() {
    PoolMap m = map;
    return m == null ? 0 : m.rows();
  }

  @Override
  public int dim() {
    return dim;
  }

  public int size() {
    return rows();
  }

  /** The pool with a synced writer's rows after it, mapped but not yet published. */
  PoolMap extendedBy(PoolFiles.Writer writer, PoolFiles files, long key) {
    PoolMap m = map;
    return (m == null ? files.map(key, 0, dim) : m).extendedBy(writer);
  }

  /** Refuses up front a call that would take the pool past what one project can index. */
  public void checkRoomFor(long extraRows) {
    long needed = rows() + extraRows;
    if (needed > Integer.MAX_VALUE) {
      throw ActiveRmException.invalid(
          "a project holds at most " + Integer.MAX_VALUE + " responses; this call would make " + needed);
    }
  }

  /** Serves the rows of m from now on (start-up, and each commit under the write lock). */
  void publish(PoolMap m) {
    if (m.dim() != dim) {
      throw new IllegalArgumentException("map of dim " + m.dim() + " for a pool of dim " + dim);
    }
    map = m;
  }

  /**
   * Unmaps the pool now (DeleteProject, under the write lock, after the project was marked
   * deleted), so the file's disk space comes back when it is removed.
   */
  void release() {
    PoolMap m = map;
    map = null;
    if (m != null) {
      m.release();
    }
  }

  /** Copies one row into dst at dstOffset (checking its checksum block on first read). */
  @Override
  public void copyRow(int row, float[] dst, int dstOffset) {
    PoolMap m = map;
    if (m == null) {
      throw new IndexOutOfBoundsException("row " + row + " of 0");
    }
    m.copyRow(row, dst, dstOffset);
  }
}
