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
import dev.activerm.client.SelectOptions.CandidateSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.ReduceFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.sketch.BloomFilter;

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
    Result r;
    try (Staged staged = new Staged()) {
      r = select(spark, pool, st, o, staged);
    }
    // The chosen responses' rows the server may lack travel with the registration (ChosenRows).
    return o.register() ? register(client, projectId, o, r, ChosenRows.gather(spark, pool, r.pairs(), st)) : r;
  }

  /** The batch for an exported state: candidates by id, blocks with phi, then the strategy's passes over the blocks. */
  private static Result select(SparkSession spark, Dataset<Row> pool, SelectionState st, SparkSelectOptions o,
      Staged staged) {
    int d = st.embeddingDim();
    int h = st.featureDim();
    byte[] params = st.parameters();
    int[] sizes = st.layerSizes();
    long version = st.modelVersion();
    Dataset<Row> pairs = staged.cache(candidates(spark, pool, st, o, staged));
    long numCandidates = staged.time("candidates", pairs::count);
    if (numCandidates == 0) {
      throw new IllegalArgumentException("no candidate pairs are left after excluding labeled, pending and retired "
          + "ones; send other pairs or a larger pool");
    }
    Blocks.Placement where = placement(spark, pool, pairs, numCandidates, o, staged);
    Dataset<PairBlock> blocks = staged.cache(Blocks.build(pairs, Blocks.features(pool, where, d, sizes, params,
        version), h));
    staged.time("blocks", blocks::count);
    staged.uncache(pairs);
    int b = (int) Math.min(o.batchSize(), numCandidates);
    List<Row> chosen = switch (o.strategy()) {
      case MAX_ENTROPY -> staged.time("score", () -> top(scoreEach(blocks, sizes, params, version, null), b));
      case DOPT, PAST_AWARE_DOPT -> {
        double[] m = staged.time("information", () -> candidateInformation(blocks, sizes, params, version, h));
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
        yield staged.time("score", () -> top(scoreEach(blocks, sizes, params, version, l), b));
      }
      case GREEDY_DOPT -> staged.time("greedi", () -> GreeDi.select(blocks, sizes, params, version, st, b));
      default -> throw new IllegalStateException("unreachable: checked by SparkSelectOptions");
    };
    List<Pair> chosenPairs = new ArrayList<>(chosen.size());
    double[] scores = new double[chosen.size()];
    for (int i = 0; i < chosen.size(); i++) {
      chosenPairs.add(new Pair(chosen.get(i).getString(1), chosen.get(i).getString(2)));
      scores[i] = chosen.get(i).getDouble(3);
    }
    return new Result(chosenPairs, scores, numCandidates, version, null);
  }

  /**
   * Where phi must go. EXPLICIT: the exact blocks of each named id (the pairs are on the
   * driver already), after checking every id is in the pool. Generated: a Bloom filter of the
   * touched ids, the block a function of the response.
   */
  private static Blocks.Placement placement(SparkSession spark, Dataset<Row> pool, Dataset<Row> pairs,
      long numCandidates, SparkSelectOptions o, Staged staged) {
    if (o.source() == CandidateSource.EXPLICIT) {
      Map<String, Set<Integer>> blocksOf = new HashMap<>();
      for (Row r : pairs.collectAsList()) {
        blocksOf.computeIfAbsent(r.getString(1), x -> new TreeSet<>()).add(r.getInt(3));
        blocksOf.computeIfAbsent(r.getString(2), x -> new TreeSet<>()).add(r.getInt(3));
      }
      Map<String, int[]> where = new HashMap<>();
      blocksOf.forEach((id, s) -> where.put(id, s.stream().mapToInt(Integer::intValue).toArray()));
      Blocks.Placement p = Blocks.explicit(staged.broadcast(spark, where));
      Set<String> found = new HashSet<>();
      Blocks.touchedRows(pool, p).select("response_id").collectAsList().forEach(r -> found.add(r.getString(0)));
      List<String> missing = where.keySet().stream().filter(id -> !found.contains(id)).sorted().limit(5).toList();
      if (!missing.isEmpty()) {
        throw new IllegalArgumentException("candidate pairs name responses that are not in the pool, e.g. " + missing
            + "; use response_id values of the Parquet pool");
      }
      return p;
    }
    Dataset<Row> ids = pairs.selectExpr("a_id AS id").union(pairs.selectExpr("b_id AS id"));
    BloomFilter bloom = staged.time("bloom", () -> ids.stat().bloomFilter("id", 2 * numCandidates, 1e-3));
    BlockOf blockOf = o.source() == CandidateSource.CROSS_PROMPT
        ? BlockOf.byResponse(o.candidatePartitions(), o.seed())
        : BlockOf.byPrompt(o.candidatePartitions());
    return Blocks.generated(staged.broadcast(spark, bloom), blockOf);
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

  /** The candidates (k, a_id, b_id, blk) of o's source, without labeled, pending, retired and repeated pairs. */
  static Dataset<Row> candidates(SparkSession spark, Dataset<Row> pool, SelectionState st, SparkSelectOptions o) {
    return candidates(spark, pool, st, o, null);
  }

  private static Dataset<Row> candidates(SparkSession spark, Dataset<Row> pool, SelectionState st,
      SparkSelectOptions o, Staged staged) {
    // Pairs by ids (either orientation): the job never sees the server's rows.
    Set<String> excluded = new HashSet<>();
    st.labeledPairs().forEach(p -> excluded.add(canon(p.aId(), p.bId())));
    st.pendingPairs().forEach(p -> excluded.add(canon(p.aId(), p.bId())));
    Set<String> retired = new HashSet<>(st.retiredResponseIds());
    int k = o.candidatePartitions();
    return switch (o.source()) {
      case EXPLICIT -> Candidates.explicit(spark, o.explicitPairs(), excluded, retired, k);
      // A broadcast: every task of the draw reads the set, and it grows with the labels and pending pairs.
      case WITHIN_PROMPT -> Candidates.withinPrompt(pool, o.maxCandidates(), o.seed(), k,
          Staged.broadcast(spark, excluded, staged), retired);
      case CROSS_PROMPT -> Candidates.crossPrompt(pool, o.maxCandidates(), k, o.seed(),
          Staged.broadcast(spark, excluded, staged), retired);
    };
  }

  static String canon(String a, String b) {
    return Candidates.canon(a, b);
  }

  /**
   * Per block: margins and the pair score from phi. factor null: MAX_ENTROPY (-|r_a - r_b|);
   * otherwise v ||L^-1 (phi_a - phi_b)||^2 with L the given factor (the DOPT family): psi = L^-1 phi
   * once per response of the block, then distances over the pairs.
   */
  static Dataset<Row> scoreEach(Dataset<PairBlock> blocks, int[] sizes, byte[] params, long version, double[] factor) {
    FlatMapFunction<PairBlock, Row> f = blk -> {
      RewardModel m = ModelCodec.decode(version, sizes, params);
      int h = m.featureDim();
      int[] ia = blk.a;
      int[] ib = blk.b;
      double[] margin = Rewards.pairMargins(blk.phi, blk.rows(), h, m.lastLayer(), ia, ib);
      double[] score = new double[ia.length];
      if (factor == null) {
        for (int i = 0; i < score.length; i++) {
          score[i] = -Math.abs(margin[i]);
        }
      } else {
        double[] v = BradleyTerry.clippedVariance(margin);
        float[] psi = blk.phiCopy();
        Whitening.whiten(psi, blk.rows(), h, factor);
        double[] q = PairKernels.squaredDistances(psi, h, ia, ib);
        for (int i = 0; i < score.length; i++) {
          score[i] = v[i] * q[i];
        }
      }
      List<Row> out = new ArrayList<>(score.length);
      for (int i = 0; i < score.length; i++) {
        out.add(RowFactory.create(blk.k[i], blk.aId[i], blk.bId[i], score[i]));
      }
      return out.iterator();
    };
    return blocks.flatMap(f, Encoders.row(SCORED));
  }

  /** F(cand) = sum v z z^T over every candidate: one h x h partial per block (LaplacianGram), summed. */
  static double[] candidateInformation(Dataset<PairBlock> blocks, int[] sizes, byte[] params, long version, int h) {
    MapFunction<PairBlock, double[]> f = blk -> {
      RewardModel m = ModelCodec.decode(version, sizes, params);
      double[] out = new double[h * h];
      double[] v = BradleyTerry.clippedVariance(
          Rewards.pairMargins(blk.phi, blk.rows(), h, m.lastLayer(), blk.a, blk.b));
      LaplacianGram.accumulate(blk.phi, blk.rows(), h, blk.a, blk.b, v, out, () -> false);
      return out;
    };
    return blocks.map(f, Encoders.kryo(double[].class)).reduce((ReduceFunction<double[]>) (x, y) -> {
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

  /**
   * The server's GREEDY_DOPT over one block's pairs, starting from the exported lambda I + F(labeled);
   * the block's rows are phi, so the model is seen through {@link PhiModel}.
   */
  static StrategyResult greedy(PairBlock blk, RewardModel m, int h, double lambda, double[] info, double[] factor,
      int b) {
    StrategyInput in = new StrategyInput(blk, PhiModel.of(m), blk.pairs(), new PairList(new int[0], new int[0]),
        new double[0],
        lambda, dev.activerm.server.core.strategy.Strategy.GREEDY_DOPT, StrategyParams.DEFAULTS.resolve(), 0, b,
        () -> false, new LabeledInformation(h, info, factor));
    return SelectionStrategy.run(in);
  }

}
