package dev.activerm.spark;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Registration;
import dev.activerm.client.Types.ResponseRows;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.SelectionState;
import dev.activerm.client.Types.Strategy;
import dev.activerm.server.core.linalg.DenseMatrices;
import dev.activerm.server.core.linalg.LaplacianGram;
import dev.activerm.server.core.linalg.PairKernels;
import dev.activerm.server.core.linalg.Whitening;
import dev.activerm.server.core.model.BradleyTerry;
import dev.activerm.server.core.model.ModelCodec;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.model.Rewards;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.strategy.LabeledInformation;
import dev.activerm.server.core.strategy.SelectionStrategy;
import dev.activerm.server.core.strategy.StrategyInput;
import dev.activerm.server.core.strategy.StrategyParams;
import dev.activerm.server.core.strategy.StrategyResult;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * SelectBatch over a Parquet pool on Spark, with the server as coordinator: export the model
 * and lambda I + F(labeled and pending), join the candidate pairs with the pool, score them
 * per partition with the server's own kernels (core/linalg, core/strategy), merge, and
 * register the batch. See docs/spark.md for the stages and their costs.
 */
public final class SparkSelection {
  private SparkSelection() {}

  /** The chosen pairs in the order chosen, their scores, how many candidates were scored, and the registration. */
  public record Result(List<Pair> pairs, double[] scores, long numCandidates, long modelVersion, Selection registered) {}

  static final StructType SCORED = new StructType()
      .add("k", DataTypes.LongType, false)
      .add("a_id", DataTypes.StringType, false)
      .add("b_id", DataTypes.StringType, false)
      .add("score", DataTypes.DoubleType, false);

  public static Result run(SparkSession spark, String poolPath, ActiveRmClient client, String projectId,
      SparkSelectOptions o) {
    return run(spark, PoolInput.read(spark, poolPath), client, projectId, o);
  }

  /** As {@link #run(SparkSession, String, ActiveRmClient, String, SparkSelectOptions)} over a pool from any source. */
  public static Result run(SparkSession spark, Dataset<Row> poolRows, ActiveRmClient client, String projectId,
      SparkSelectOptions o) {
    Dataset<Row> pool = PoolInput.of(poolRows, "the given Dataset");
    SelectionState st = client.exportSelectionState(projectId);
    Dataset<Row> joined = candidates(spark, pool, st, o);
    joined = joined.repartition(o.candidatePartitions()).cache();
    long numCandidates = joined.count();
    if (numCandidates == 0) {
      joined.unpersist();
      throw new IllegalArgumentException("no candidate pairs are left after excluding labeled, pending and retired "
          + "ones; send other pairs or a larger pool");
    }
    int d = st.embeddingDim();
    int b = (int) Math.min(o.batchSize(), numCandidates);
    byte[] params = st.parameters();
    int[] sizes = st.layerSizes();
    long version = st.modelVersion();
    List<Row> chosen = switch (o.strategy()) {
      case MAX_ENTROPY -> top(scoreEach(joined, d, sizes, params, version, null), b);
      case DOPT, PAST_AWARE_DOPT -> {
        double[] m = candidateInformation(joined, d, sizes, params, version, st.featureDim());
        int h = st.featureDim();
        if (o.strategy() == Strategy.PAST_AWARE_DOPT) {
          for (int i = 0; i < h * h; i++) {
            m[i] += st.information()[i];
          }
          DenseMatrices.addDiagonal(m, h, -st.l2());
        }
        double tr = DenseMatrices.trace(m, h);
        double eps = o.ridge() > 0 ? o.ridge() : tr > 0 ? 1e-6 * tr / h : 1e-6;
        DenseMatrices.addDiagonal(m, h, eps);
        double[] l = DenseMatrices.choleskyLower(m, h);
        if (l == null) {
          throw new ArithmeticException("eps I + F(cand) is not positive definite (h = " + h + ")");
        }
        yield top(scoreEach(joined, d, sizes, params, version, l), b);
      }
      case GREEDY_DOPT -> GreeDi.select(joined, d, sizes, params, version, st, b);
      default -> throw new IllegalStateException("unreachable: checked by SparkSelectOptions");
    };
    joined.unpersist();
    List<Pair> pairs = new ArrayList<>(chosen.size());
    double[] scores = new double[chosen.size()];
    for (int i = 0; i < chosen.size(); i++) {
      pairs.add(new Pair(chosen.get(i).getString(1), chosen.get(i).getString(2)));
      scores[i] = chosen.get(i).getDouble(3);
    }
    Result r = new Result(pairs, scores, numCandidates, version, null);
    return o.register() ? register(client, projectId, o, r, ChosenRows.gather(spark, pool, pairs, st)) : r;
  }

  /**
   * Stores a computed batch as a selection on the server (its pairs become pending), sending
   * no rows: every chosen id must already be a response of the project (NOT_FOUND otherwise).
   */
  public static Result register(ActiveRmClient client, String projectId, SparkSelectOptions o, Result r) {
    return register(client, projectId, o, r, ResponseRows.NONE);
  }

  /**
   * Stores a computed batch as a selection on the server (its pairs become pending) together
   * with rows, the chosen responses' rows the server may not hold ({@link ChosenRows}): both
   * are stored, or neither. If the project's model moved on since the export, the server
   * refuses (FAILED_PRECONDITION) and stores nothing: run the job again. The request must fit
   * the server's --max-message-mib (2B rows of D float32, plus the pairs).
   */
  public static Result register(ActiveRmClient client, String projectId, SparkSelectOptions o, Result r,
      ResponseRows rows) {
    Selection registered = client.registerSelection(projectId, new Registration(o.strategy(), r.modelVersion(),
        r.pairs(), r.scores(), o.seed(), r.numCandidates(), o.source(), o.maxCandidates(), o.ridge(),
        SparkSelectOptions.COMPUTED_ON).withNewResponses(rows));
    return new Result(r.pairs(), r.scores(), r.numCandidates(), r.modelVersion(), registered);
  }

  /** The candidates (k, a_id, b_id, a_x, b_x) of o's source, without labeled, pending, retired and repeated pairs. */
  static Dataset<Row> candidates(SparkSession spark, Dataset<Row> pool, SelectionState st, SparkSelectOptions o) {
    // Pairs by ids (either orientation): the job never sees the server's rows.
    Set<String> excluded = new HashSet<>();
    st.labeledPairs().forEach(p -> excluded.add(canon(p.aId(), p.bId())));
    st.pendingPairs().forEach(p -> excluded.add(canon(p.aId(), p.bId())));
    Set<String> retired = new HashSet<>(st.retiredResponseIds());
    return switch (o.source()) {
      case EXPLICIT -> Candidates.explicit(spark, pool, o.explicitPairs(), excluded, retired);
      case WITHIN_PROMPT -> Candidates.withinPrompt(pool, o.maxCandidates(), o.seed(), excluded, retired);
      case CROSS_PROMPT -> Candidates.crossPrompt(pool, o.maxCandidates(), o.candidatePartitions(), o.seed(),
          excluded, retired);
    };
  }

  static String canon(String a, String b) {
    return Candidates.canon(a, b);
  }

  /**
   * Per partition: phi, v and the pair score. factor null: MAX_ENTROPY (-|r_a - r_b|);
   * otherwise v ||L^-1 (phi_a - phi_b)||^2 with L the given factor (the DOPT family).
   */
  static Dataset<Row> scoreEach(Dataset<Row> joined, int d, int[] sizes, byte[] params, long version, double[] factor) {
    MapPartitionsFunction<Row, Row> f = it -> {
      RewardModel m = ModelCodec.decode(version, sizes, params);
      LocalPairs lp = new LocalPairs(drain(it), d);
      int h = m.featureDim();
      float[] phi = features(lp, m);
      int[] ia = lp.pairs.a();
      int[] ib = lp.pairs.b();
      double[] margin = Rewards.pairMargins(phi, lp.rows(), h, m.lastLayer(), ia, ib);
      double[] score = new double[ia.length];
      if (factor == null) {
        for (int i = 0; i < score.length; i++) {
          score[i] = -Math.abs(margin[i]);
        }
      } else {
        double[] v = BradleyTerry.clippedVariance(margin);
        Whitening.whiten(phi, lp.rows(), h, factor);
        double[] q = PairKernels.squaredDistances(phi, h, ia, ib);
        for (int i = 0; i < score.length; i++) {
          score[i] = v[i] * q[i];
        }
      }
      List<Row> out = new ArrayList<>(score.length);
      for (int i = 0; i < score.length; i++) {
        out.add(RowFactory.create(lp.k[i], lp.aId[i], lp.bId[i], score[i]));
      }
      return out.iterator();
    };
    return joined.mapPartitions(f, Encoders.row(SCORED));
  }

  /** F(cand) = sum v z z^T over every candidate: one h x h partial per partition (LaplacianGram), summed. */
  static double[] candidateInformation(Dataset<Row> joined, int d, int[] sizes, byte[] params, long version, int h) {
    MapPartitionsFunction<Row, double[]> f = it -> {
      RewardModel m = ModelCodec.decode(version, sizes, params);
      LocalPairs lp = new LocalPairs(drain(it), d);
      double[] out = new double[h * h];
      if (lp.k.length > 0) {
        float[] phi = features(lp, m);
        double[] v = BradleyTerry.clippedVariance(
            Rewards.pairMargins(phi, lp.rows(), h, m.lastLayer(), lp.pairs.a(), lp.pairs.b()));
        LaplacianGram.accumulate(phi, lp.rows(), h, lp.pairs.a(), lp.pairs.b(), v, out, () -> false);
      }
      return List.of(out).iterator();
    };
    return joined.mapPartitions(f, Encoders.kryo(double[].class)).reduce((org.apache.spark.api.java.function.ReduceFunction<double[]>) (x, y) -> {
      double[] s = x.clone();
      for (int i = 0; i < s.length; i++) {
        s[i] += y[i];
      }
      return s;
    });
  }

  /** The b best rows by (score desc, k asc): the server's TopK order, as a distributed take-ordered. */
  static List<Row> top(Dataset<Row> scored, int b) {
    return scored.orderBy(scored.col("score").desc(), scored.col("k").asc()).limit(b).collectAsList();
  }

  static float[] features(LocalPairs lp, RewardModel m) {
    int n = lp.rows();
    int d = lp.dim();
    float[] x = new float[Math.multiplyExact(n, d)];
    for (int i = 0; i < n; i++) {
      lp.copyRow(i, x, i * d);
    }
    float[] phi = new float[Math.multiplyExact(n, m.featureDim())];
    if (n > 0) {
      m.features(x, n, phi);
    }
    return phi;
  }

  static List<Row> drain(Iterator<Row> it) {
    List<Row> rows = new ArrayList<>();
    it.forEachRemaining(rows::add);
    return rows;
  }

  /** The server's GREEDY_DOPT over one set of joined pairs, starting from the exported lambda I + F(labeled). */
  static StrategyResult greedy(LocalPairs lp, RewardModel m, int h, double lambda, double[] info, double[] factor,
      int b) {
    StrategyInput in = new StrategyInput(lp, m, lp.pairs, new PairList(new int[0], new int[0]), new double[0],
        lambda, dev.activerm.server.core.strategy.Strategy.GREEDY_DOPT, StrategyParams.DEFAULTS.resolve(), 0, b,
        () -> false, new LabeledInformation(h, info, factor));
    return SelectionStrategy.run(in);
  }

}
