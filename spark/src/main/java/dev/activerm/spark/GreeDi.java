package dev.activerm.spark;

import dev.activerm.client.Types.SelectionState;
import dev.activerm.server.core.model.ModelCodec;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.strategy.StrategyResult;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * GREEDY_DOPT as a two-round distributed greedy (GreeDi, Mirzasoleiman et al. 2013): the
 * server's greedy picks b pairs in each candidate partition, starting from the exported
 * lambda I + F(labeled and pending); the union (partitions x b pairs, with their embeddings)
 * comes to the driver, where the same greedy picks the final b. log det is monotone
 * submodular, so the union holds a constant-factor batch; the test measures the achieved
 * gain against the central greedy.
 */
final class GreeDi {
  private GreeDi() {}

  static List<Row> select(Dataset<Row> joined, int d, int[] sizes, byte[] params, long version, SelectionState st,
      int b) {
    int h = st.featureDim();
    double lambda = st.l2();
    double[] info = st.information();
    double[] factor = st.factor();
    MapPartitionsFunction<Row, Row> round1 = it -> {
      List<Row> rows = SparkSelection.drain(it);
      if (rows.isEmpty()) {
        return List.<Row>of().iterator();
      }
      RewardModel m = ModelCodec.decode(version, sizes, params);
      StrategyResult r = SparkSelection.greedy(new LocalPairs(rows, d), m, h, lambda, info, factor, b);
      List<Row> out = new ArrayList<>(r.index().length);
      for (int i : r.index()) {
        out.add(rows.get(i));
      }
      return out.iterator();
    };
    List<Row> union = joined.mapPartitions(round1, Encoders.row(joined.schema())).collectAsList();
    // Round 2 on the driver, in candidate order so ties break as the server's would.
    List<Row> sorted = new ArrayList<>(union);
    sorted.sort((x, y) -> Long.compare(x.getLong(0), y.getLong(0)));
    LocalPairs lp = new LocalPairs(sorted, d);
    StrategyResult r = SparkSelection.greedy(lp, ModelCodec.decode(version, sizes, params), h, lambda, info, factor,
        b);
    List<Row> out = new ArrayList<>(r.index().length);
    for (int i = 0; i < r.index().length; i++) {
      int k = r.index()[i];
      out.add(RowFactory.create(lp.k[k], lp.aId[k], lp.bId[k], r.score()[i]));
    }
    return out;
  }
}
