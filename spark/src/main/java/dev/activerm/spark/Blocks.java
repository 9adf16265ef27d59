package dev.activerm.spark;

import dev.activerm.server.core.model.ModelCodec;
import dev.activerm.server.core.model.RewardModel;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.CoGroupFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.sketch.BloomFilter;

/**
 * The candidate blocks: phi computed once per response the candidates touch, brought to the
 * blocks that need it, and grouped with their id pairs into one {@link PairBlock} per block.
 * Only the touched part of the pool is ever turned into rows (a filter on response_id ahead
 * of the embedding), and what the shuffle moves is phi (h floats per touched response and
 * block) plus the pairs' ids: no embedding travels with a pair, and the pool itself is never
 * shuffled.
 */
final class Blocks {
  private Blocks() {}

  /** Feature rows: the block, the response, phi as little-endian floats. */
  static final StructType FEATURES = new StructType()
      .add("blk", DataTypes.IntegerType, false)
      .add("response_id", DataTypes.StringType, false)
      .add("phi", DataTypes.BinaryType, false);

  private static final int CHUNK = 4096;

  /** Which candidate blocks need a pool response's phi. */
  interface Placement extends Serializable {
    /** May over-approximate (a Bloom filter): an untouched row costs one phi, never a wrong answer. */
    boolean touched(String responseId);

    int[] blocks(String responseId, String promptId);
  }

  /**
   * Generated sources: a Bloom filter of the touched ids (false-positive rate 1e-3: at 10^7
   * pool rows about 10^4 extra phi, dropped in their block) and the block as a function of the
   * response. The filter is sized by the pairs (2 ids each), not by the pool.
   */
  static Placement generated(Broadcast<BloomFilter> touched, BlockOf blockOf) {
    return new Placement() {
      @Override
      public boolean touched(String id) {
        return touched.value().mightContainString(id);
      }

      @Override
      public int[] blocks(String id, String prompt) {
        return new int[] {blockOf.of(id, prompt)};
      }
    };
  }

  /** Explicit pairs: the exact blocks of every named response (a response may sit in several). */
  static Placement explicit(Broadcast<Map<String, int[]>> where) {
    return new Placement() {
      @Override
      public boolean touched(String id) {
        return where.value().containsKey(id);
      }

      @Override
      public int[] blocks(String id, String prompt) {
        return where.value().get(id);
      }
    };
  }

  /** The pool rows the placement may need, filtered on response_id before the embedding is read into a row. */
  static Dataset<Row> touchedRows(Dataset<Row> pool, Placement where) {
    // An expression filter (not a typed one): Spark evaluates it on the id column alone, so the
    // other rows' embeddings are never deserialised into Java objects.
    var udf = functions.udf((UDF1<String, Boolean>) where::touched, DataTypes.BooleanType);
    return pool.filter(udf.apply(functions.col("response_id")));
  }

  /** (blk, response_id, phi) for every touched pool row and block that needs it; phi by the server's model. */
  static Dataset<Row> features(Dataset<Row> pool, Placement where, int d, int[] sizes, byte[] params, long version) {
    MapPartitionsFunction<Row, Row> f = it -> {
      RewardModel m = ModelCodec.decode(version, sizes, params);
      int h = m.featureDim();
      List<Row> out = new ArrayList<>();
      List<Row> chunk = new ArrayList<>(CHUNK);
      float[] x = new float[CHUNK * d];
      float[] phi = new float[CHUNK * h];
      while (it.hasNext()) {
        chunk.clear();
        while (it.hasNext() && chunk.size() < CHUNK) {
          Row r = it.next();
          copyEmbedding(r, d, x, chunk.size() * d);
          chunk.add(r);
        }
        m.features(x, chunk.size(), phi);
        for (int i = 0; i < chunk.size(); i++) {
          Row r = chunk.get(i);
          byte[] bytes = PairBlock.bytes(phi, i, h);
          for (int blk : where.blocks(r.getString(0), r.getString(1))) {
            out.add(RowFactory.create(blk, r.getString(0), bytes));
          }
        }
      }
      return out.iterator();
    };
    return touchedRows(pool, where).mapPartitions(f, Encoders.row(FEATURES));
  }

  private static void copyEmbedding(Row r, int d, float[] x, int offset) {
    String id = r.getString(0);
    List<Float> emb = r.getList(2);
    if (emb == null || emb.size() != d) {
      throw new IllegalArgumentException("embedding of response '" + id + "' has "
          + (emb == null ? "no" : String.valueOf(emb.size())) + " values; the project's embedding_dim is " + d);
    }
    for (int j = 0; j < d; j++) {
      Float v = emb.get(j);
      if (v == null || !Float.isFinite(v)) {
        throw new IllegalArgumentException("embedding of response '" + id + "' has a null, NaN or Inf at " + j);
      }
      x[offset + j] = v;
    }
  }

  /** One PairBlock per block that has pairs: pairs (k, a_id, b_id, blk) cogrouped with their feature rows. */
  static Dataset<PairBlock> build(Dataset<Row> pairs, Dataset<Row> features, int h) {
    CoGroupFunction<Integer, Row, Row, PairBlock> f = (blk, pit, fit) -> {
      List<Row> p = new ArrayList<>();
      pit.forEachRemaining(p::add);
      if (p.isEmpty()) {
        return List.<PairBlock>of().iterator(); // rows let through by the Bloom filter only
      }
      Map<String, byte[]> phi = new HashMap<>();
      while (fit.hasNext()) {
        Row r = fit.next();
        if (phi.put(r.getString(1), (byte[]) r.get(2)) != null) {
          throw new IllegalArgumentException("pool lists response_id '" + r.getString(1)
              + "' twice; each response must appear once");
        }
      }
      return List.of(PairBlock.of(h, p, phi)).iterator();
    };
    return pairs.groupByKey((MapFunction<Row, Integer>) r -> r.getInt(3), Encoders.INT())
        .cogroup(features.groupByKey((MapFunction<Row, Integer>) r -> r.getInt(0), Encoders.INT()), f,
            Encoders.kryo(PairBlock.class));
  }
}
