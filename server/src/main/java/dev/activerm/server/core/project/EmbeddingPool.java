package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.linalg.RowSource;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A project's embeddings in memory: rows of float32, stored in fixed-size shards so the
 * pool grows without copying and pool-wide kernels can map over shards and merge.
 * Append-only; callers serialise writers (the project write lock).
 */
public final class EmbeddingPool implements RowSource {
  /** About 32 MiB of floats per shard. */
  private static final int SHARD_FLOATS = 1 << 23;

  private final int dim;
  private final int shardRows;
  private final List<float[]> shards = new ArrayList<>();
  private int rows;

  public EmbeddingPool(int dim) {
    this.dim = dim;
    this.shardRows = Math.max(1, SHARD_FLOATS / dim);
  }

  @Override
  public int rows() {
    return rows;
  }

  @Override
  public int dim() {
    return dim;
  }

  public int size() {
    return rows;
  }

  public int shardRows() {
    return shardRows;
  }

  /**
   * Allocates room for extra rows up front, so that running out of memory happens before
   * a write is made durable, never between the durable write and the in-memory append.
   */
  public void reserve(long extraRows) {
    long needed = rows + extraRows;
    if (needed > Integer.MAX_VALUE) {
      throw ActiveRmException.invalid(
          "a project holds at most " + Integer.MAX_VALUE + " responses; this call would make " + needed);
    }
    while ((long) shards.size() * shardRows < needed) {
      shards.add(new float[shardRows * dim]);
    }
  }

  /** Appends rows (row-major, dim columns) after the last row. */
  public void append(float[] values) {
    int count = values.length / dim;
    reserve(count);
    int src = 0;
    while (src < values.length) {
      int shard = rows / shardRows;
      int offsetRow = rows % shardRows;
      int n = Math.min(count - src / dim, shardRows - offsetRow);
      System.arraycopy(values, src, shards.get(shard), offsetRow * dim, n * dim);
      src += n * dim;
      rows += n;
    }
  }

  /** Appends the remaining floats of src (whole rows, row-major) after the last row. */
  public void append(FloatBuffer src) {
    int count = src.remaining() / dim;
    reserve(count);
    for (int left = count; left > 0; ) {
      int shard = rows / shardRows;
      int offsetRow = rows % shardRows;
      int n = Math.min(left, shardRows - offsetRow);
      src.get(shards.get(shard), offsetRow * dim, n * dim);
      rows += n;
      left -= n;
    }
  }

  /** Copies rows [from, to) into a new row-major array. */
  public float[] copyRows(int from, int to) {
    if (from < 0 || to > rows || from > to) {
      throw new IndexOutOfBoundsException("rows " + from + ".." + to + " of " + rows);
    }
    float[] out = new float[(to - from) * dim];
    int dst = 0;
    for (int r = from; r < to; ) {
      int shard = r / shardRows;
      int offsetRow = r % shardRows;
      int n = Math.min(to - r, shardRows - offsetRow);
      System.arraycopy(shards.get(shard), offsetRow * dim, out, dst, n * dim);
      dst += n * dim;
      r += n;
    }
    return out;
  }

  /** Copies one row into dst at dstOffset. */
  @Override
  public void copyRow(int row, float[] dst, int dstOffset) {
    if (row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException("row " + row + " of " + rows);
    }
    System.arraycopy(shards.get(row / shardRows), (row % shardRows) * dim, dst, dstOffset, dim);
  }
}
