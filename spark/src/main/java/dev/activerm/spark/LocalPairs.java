package dev.activerm.spark;

import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.pairs.PairList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * One partition's candidate pairs as the server's strategy kernels read them: the distinct
 * responses they touch as a local row source, and the pairs as local rows. Rows are joined
 * pairs (k, a_id, b_id, a_x, b_x) with a_x, b_x the embeddings.
 */
final class LocalPairs implements RowSource {
  final long[] k;
  final String[] aId;
  final String[] bId;
  final PairList pairs;
  private final float[] x;
  private final int rows;
  private final int dim;

  LocalPairs(List<Row> in, int dim) {
    this.dim = dim;
    int n = in.size();
    k = new long[n];
    aId = new String[n];
    bId = new String[n];
    int[] a = new int[n];
    int[] b = new int[n];
    Map<String, Integer> local = new HashMap<>();
    float[] buf = new float[Math.multiplyExact(2 * n, dim)];
    for (int i = 0; i < n; i++) {
      Row r = in.get(i);
      k[i] = r.getLong(0);
      aId[i] = r.getString(1);
      bId[i] = r.getString(2);
      a[i] = rowOf(local, aId[i], r.getList(3), buf);
      b[i] = rowOf(local, bId[i], r.getList(4), buf);
    }
    this.rows = local.size();
    this.x = buf;
    this.pairs = new PairList(a, b);
  }

  private int rowOf(Map<String, Integer> local, String id, List<Float> emb, float[] buf) {
    Integer row = local.get(id);
    if (row != null) {
      return row;
    }
    if (emb.size() != dim) {
      throw new IllegalArgumentException("embedding of response '" + id + "' has " + emb.size()
          + " values; the project's embedding_dim is " + dim);
    }
    int r = local.size();
    local.put(id, r);
    for (int j = 0; j < dim; j++) {
      Float f = emb.get(j);
      if (f == null || !Float.isFinite(f)) {
        throw new IllegalArgumentException("embedding of response '" + id + "' has a null, NaN or Inf at " + j);
      }
      buf[r * dim + j] = f;
    }
    return r;
  }

  @Override
  public int rows() {
    return rows;
  }

  @Override
  public int dim() {
    return dim;
  }

  @Override
  public void copyRow(int row, float[] dst, int offset) {
    System.arraycopy(x, row * dim, dst, offset, dim);
  }
}
