package dev.activerm.spark;

import dev.activerm.client.Types.SelectionState;
import dev.activerm.server.core.model.ModelCodec;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.strategy.StrategyResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * GREEDY_DOPT as a two-round distributed greedy (GreeDi, Mirzasoleiman et al. 2013): the
 * server's greedy picks b pairs in each candidate block, starting from the exported
 * lambda I + F(labeled and pending); the union (blocks x b pairs, with phi of both ends, not
 * their embeddings) comes to the driver, where the same greedy picks the final b. log det is
 * monotone submodular, so the union holds a constant-factor batch; the test measures the
 * achieved gain against the central greedy.
 */
final class GreeDi {
  private GreeDi() {}

  private static final StructType PICKED = new StructType()
      .add("k", DataTypes.LongType, false)
      .add("a_id", DataTypes.StringType, false)
      .add("b_id", DataTypes.StringType, false)
      .add("a_phi", DataTypes.BinaryType, false)
      .add("b_phi", DataTypes.BinaryType, false);

  static List<Row> select(Dataset<PairBlock> blocks, int[] sizes, byte[] params, long version, SelectionState st,
      int b) {
    int h = st.featureDim();
    double lambda = st.l2();
    double[] info = st.information();
    double[] factor = st.factor();
    FlatMapFunction<PairBlock, Row> round1 = blk -> {
      RewardModel m = ModelCodec.decode(version, sizes, params);
      StrategyResult r = SparkSelection.greedy(blk, m, h, lambda, info, factor, b);
      List<Row> out = new ArrayList<>(r.index().length);
      for (int i : r.index()) {
        out.add(RowFactory.create(blk.k[i], blk.aId[i], blk.bId[i], PairBlock.bytes(blk.phi, blk.a[i], h),
            PairBlock.bytes(blk.phi, blk.b[i], h)));
      }
      return out.iterator();
    };
    List<Row> union = blocks.flatMap(round1, Encoders.row(PICKED)).collectAsList();
    // Round 2 on the driver, in candidate order (PairBlock sorts by k) so ties break as the server's would.
    Map<String, byte[]> phi = new HashMap<>();
    for (Row r : union) {
      phi.putIfAbsent(r.getString(1), (byte[]) r.get(3));
      phi.putIfAbsent(r.getString(2), (byte[]) r.get(4));
    }
    PairBlock all = PairBlock.of(h, union, phi);
    StrategyResult r = SparkSelection.greedy(all, ModelCodec.decode(version, sizes, params), h, lambda, info, factor,
        b);
    List<Row> out = new ArrayList<>(r.index().length);
    for (int i = 0; i < r.index().length; i++) {
      int k = r.index()[i];
      out.add(RowFactory.create(all.k[k], all.aId[k], all.bId[k], r.score()[i]));
    }
    return out;
  }
}
