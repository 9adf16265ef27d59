package dev.activerm.spark;

import dev.activerm.server.core.linalg.RowSource;
import dev.activerm.server.core.pairs.PairList;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;

/**
 * One block of candidate pairs as the server's strategy kernels read them: the pairs (by id,
 * by candidate key k, and as local rows) and phi of the distinct responses they touch, as a
 * row source of width h. phi arrives computed (once per response, {@link Blocks}), so no
 * embedding is held here. Pairs are in k order, so a block's greedy breaks ties the same way
 * whatever order the shuffle delivered them in. Kryo-encoded in the cached block Dataset:
 * plain fields and a no-argument constructor, and public (Spark's kryo Encoder refuses other classes).
 */
public final class PairBlock implements RowSource, Serializable {
  private static final long serialVersionUID = 1L;

  int h;
  long[] k;
  String[] aId;
  String[] bId;
  int[] a;
  int[] b;
  String[] ids;
  float[] phi;

  public PairBlock() {}

  /**
   * pairs: rows with (k, a_id, b_id) in columns 0..2; phiOf: each response's phi as bytes
   * ({@link #bytes}). An id with no phi is a pair naming a response the pool does not hold.
   */
  static PairBlock of(int h, List<Row> pairs, Map<String, byte[]> phiOf) {
    List<Row> sorted = new ArrayList<>(pairs);
    sorted.sort(Comparator.comparingLong(r -> r.getLong(0)));
    int n = sorted.size();
    PairBlock p = new PairBlock();
    p.h = h;
    p.k = new long[n];
    p.aId = new String[n];
    p.bId = new String[n];
    p.a = new int[n];
    p.b = new int[n];
    Map<String, Integer> local = new HashMap<>();
    List<String> ids = new ArrayList<>();
    List<byte[]> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Row r = sorted.get(i);
      p.k[i] = r.getLong(0);
      p.aId[i] = r.getString(1);
      p.bId[i] = r.getString(2);
      p.a[i] = rowOf(local, ids, rows, p.aId[i], phiOf);
      p.b[i] = rowOf(local, ids, rows, p.bId[i], phiOf);
    }
    p.ids = ids.toArray(new String[0]);
    p.phi = new float[Math.multiplyExact(ids.size(), h)];
    for (int i = 0; i < rows.size(); i++) {
      ByteBuffer.wrap(rows.get(i)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(p.phi, i * h, h);
    }
    return p;
  }

  private static int rowOf(Map<String, Integer> local, List<String> ids, List<byte[]> rows, String id,
      Map<String, byte[]> phiOf) {
    Integer row = local.get(id);
    if (row != null) {
      return row;
    }
    byte[] phi = phiOf.get(id);
    if (phi == null) {
      throw new IllegalArgumentException("candidate pairs name response '" + id + "', which is not in the pool; "
          + "use response_id values of the Parquet pool");
    }
    local.put(id, ids.size());
    ids.add(id);
    rows.add(phi);
    return ids.size() - 1;
  }

  /** phi row i of src (width h) as little-endian float bytes: the feature rows' binary column. */
  static byte[] bytes(float[] src, int row, int h) {
    ByteBuffer buf = ByteBuffer.allocate(4 * h).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(src, row * h, h);
    return buf.array();
  }

  PairList pairs() {
    return new PairList(a, b);
  }

  int size() {
    return k.length;
  }

  /** A copy of phi, for kernels that work in place (whitening). */
  float[] phiCopy() {
    return phi.clone();
  }

  @Override
  public int rows() {
    return ids.length;
  }

  @Override
  public int dim() {
    return h;
  }

  @Override
  public void copyRow(int row, float[] dst, int offset) {
    System.arraycopy(phi, row * h, dst, offset, h);
  }
}
