package dev.activerm.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.FitOptions;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.PairState;
import dev.activerm.client.Types.ScoredPair;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.SelectionState;
import dev.activerm.client.Types.Strategy;
import dev.activerm.client.ActiveRmException;
import dev.activerm.client.Types.Registration;
import io.grpc.Status;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Spark job (local[2], loopback only) against the packaged server running as its own
 * process, on a pool that also fits the server: the same candidates (explicit or grouped by
 * prompt on Spark) give the same batch as SelectBatch; bad input stores nothing.
 */
@Timeout(300)
class SparkSelectionIT {
  static final int N = 80;
  static final int D = 5;

  @TempDir static Path dir;
  static SparkSession spark;
  static ServerProcess server;
  static ActiveRmClient client;
  static float[][] x = new float[N][D];
  static String poolPath;
  static List<Pair> candidates = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    spark = SparkSession.builder().master("local[2]").appName("activerm-spark-test")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate();
    server = ServerProcess.start(dir.resolve("data"));
    client = ActiveRmClient.connect(server.target());

    Random rnd = new Random(11);
    double[] wTrue = new double[D];
    for (int j = 0; j < D; j++) {
      wTrue[j] = rnd.nextGaussian();
    }
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      ids.add("r" + i);
      prompts.add("q" + (i % 8));
      List<Float> emb = new ArrayList<>();
      for (int j = 0; j < D; j++) {
        x[i][j] = (float) rnd.nextGaussian();
        emb.add(x[i][j]);
      }
      rows.add(RowFactory.create("r" + i, "q" + (i % 8), emb));
    }
    poolPath = dir.resolve("pool.parquet").toString();
    spark.createDataFrame(rows, poolSchema()).repartition(3).write().parquet(poolPath);
    client.createProject("p", D, Head.LINEAR, 1.0);
    client.addResponses("p", ids, prompts, x);
    List<ComparisonInput> labels = new ArrayList<>();
    for (int c = 0; c < 40; c++) {
      int a = rnd.nextInt(N);
      int b = (a + 1 + rnd.nextInt(N - 1)) % N;
      double m = 0;
      for (int j = 0; j < D; j++) {
        m += wTrue[j] * (x[a][j] - x[b][j]);
      }
      labels.add(ComparisonInput.of("r" + a, "r" + b, rnd.nextDouble() < 1 / (1 + Math.exp(-m)) ? Outcome.A : Outcome.B));
    }
    client.addComparisons("p", labels);
    client.fit("p", FitOptions.defaults());
    Set<String> seen = new HashSet<>();
    while (candidates.size() < 300) {
      int a = rnd.nextInt(N);
      int b = rnd.nextInt(N);
      if (a != b && seen.add(Math.min(a, b) + "," + Math.max(a, b))) {
        candidates.add(new Pair("r" + a, "r" + b));
      }
    }
  }

  static StructType poolSchema() {
    return new StructType().add("response_id", DataTypes.StringType).add("prompt_id", DataTypes.StringType)
        .add("embedding", DataTypes.createArrayType(DataTypes.FloatType));
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
    if (spark != null) {
      spark.stop();
    }
  }

  @ParameterizedTest
  @EnumSource(value = Strategy.class, names = {"MAX_ENTROPY", "DOPT", "PAST_AWARE_DOPT"})
  void topBStrategiesChooseTheSameSetAsTheServer(Strategy strategy) {
    SparkSelection.Result onSpark = SparkSelection.run(spark, poolPath, client, "p",
        SparkSelectOptions.explicit(strategy, 10, candidates));
    Selection onServer = client.selectBatch("p", SelectOptions.of(10, strategy).withPairs(candidates));
    client.releasePairs("p", onServer.selectionId()); // so the next case sees the same pending set

    assertThat(onSpark.numCandidates()).isEqualTo(onServer.numCandidates());
    assertThat(keys(onSpark.pairs())).isEqualTo(keys(onServer.pairs().stream()
        .map(p -> new Pair(p.aId(), p.bId())).toList()));
    for (int i = 0; i < onSpark.scores().length; i++) {
      assertThat(onSpark.scores()[i]).isCloseTo(onServer.pairs().get(i).score(),
          org.assertj.core.api.Assertions.within(1e-4 * Math.abs(onServer.pairs().get(i).score()) + 1e-9));
    }
  }

  @Test
  void greeDiReachesAtLeast99PercentOfTheCentralGreedysLogDetGain() {
    SelectionState st = client.exportSelectionState("p");
    SparkSelection.Result onSpark = SparkSelection.run(spark, poolPath, client, "p",
        SparkSelectOptions.explicit(Strategy.GREEDY_DOPT, 12, candidates).withCandidatePartitions(4));
    Selection central = client.selectBatch("p", SelectOptions.of(12, Strategy.GREEDY_DOPT).withPairs(candidates));
    client.releasePairs("p", central.selectionId());

    double spark = LogDetGain.of(st, x, onSpark.pairs());
    double greedy = LogDetGain.of(st, x, central.pairs().stream().map(p -> new Pair(p.aId(), p.bId())).toList());
    System.out.printf("GREEDY_DOPT log-det gain: GreeDi %.6f, central %.6f, ratio %.6f%n", spark, greedy,
        spark / greedy);
    assertThat(onSpark.pairs()).hasSize(12);
    assertThat(greedy).isPositive();
    assertThat(spark).isGreaterThanOrEqualTo(0.99 * greedy);
  }

  @Test
  void aRegisteredBatchIsPendingThenLabeledAndFitUsesIt() {
    long before = client.getProject("p").numComparisons();
    SparkSelection.Result r = SparkSelection.run(spark, poolPath, client, "p",
        SparkSelectOptions.explicit(Strategy.GREEDY_DOPT, 4, candidates).withRegister(true));
    Selection sel = r.registered();
    assertThat(sel.computedOn()).isEqualTo("spark");
    assertThat(sel.pairs()).extracting(ScoredPair::state).containsOnly(PairState.PENDING);
    assertThat(keys(client.exportSelectionState("p").pendingPairs())).isEqualTo(keys(r.pairs()));

    List<ComparisonInput> labels = r.pairs().stream().map(p -> ComparisonInput.of(p.aId(), p.bId(), Outcome.A))
        .toList();
    assertThat(client.addComparisons("p", labels).numPendingResolved()).isEqualTo(4);
    assertThat(client.fit("p", FitOptions.defaults()).report().numComparisons()).isEqualTo(before + 4);
  }

  @Test
  void aPoolWithoutAnEmbeddingColumnOrOfTheWrongWidthIsAClearError() {
    String noEmb = dir.resolve("no-embedding.parquet").toString();
    spark.createDataFrame(List.of(RowFactory.create("r0", "q0")), new StructType()
        .add("response_id", DataTypes.StringType).add("prompt_id", DataTypes.StringType)).write().parquet(noEmb);
    Throwable missing = catchThrowable(() -> SparkSelection.run(spark, noEmb, client, "p",
        SparkSelectOptions.explicit(Strategy.MAX_ENTROPY, 1, List.of(new Pair("r0", "r1")))));
    assertThat(missing).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no column 'embedding'")
        .hasMessageContaining("a pool needs response_id string, prompt_id string, embedding array<float>");

    String narrow = dir.resolve("narrow.parquet").toString();
    spark.createDataFrame(List.of(RowFactory.create("r0", "q0", List.of(1f, 2f)),
        RowFactory.create("r1", "q0", List.of(3f, 4f))), poolSchema()).write().parquet(narrow);
    long selections = client.listSelections("p").size();
    Throwable width = catchThrowable(() -> SparkSelection.run(spark, narrow, client, "p",
        SparkSelectOptions.explicit(Strategy.MAX_ENTROPY, 1, List.of(new Pair("r0", "r1"))).withRegister(true)));
    assertThat(width).hasStackTraceContaining("has 2 values; the project's embedding_dim is 5");
    assertThat(client.listSelections("p")).hasSize((int) selections);
    assertThat(client.exportSelectionState("p").pendingPairs()).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(value = Strategy.class, names = {"MAX_ENTROPY", "DOPT"})
  void withinPromptCandidatesOnSparkAreTheServersWithinPromptSet(Strategy strategy) {
    // MAX_ENTROPY with a batch of every candidate (at most 8 x 45 within-prompt pairs) returns the whole set.
    SparkSelection.Result onSpark = SparkSelection.run(spark, poolPath, client, "p",
        SparkSelectOptions.withinPrompt(strategy, strategy == Strategy.MAX_ENTROPY ? 1000 : 10, 1000));
    int b = onSpark.pairs().size();
    Selection onServer = client.selectBatch("p", SelectOptions.of(b, strategy)
        .withCandidates(SelectOptions.CandidateSource.WITHIN_PROMPT).withMaxCandidates(100_000));
    client.releasePairs("p", onServer.selectionId());

    assertThat(onSpark.numCandidates()).isEqualTo(onServer.numCandidates());
    assertThat(keys(onSpark.pairs())).isEqualTo(keys(onServer.pairs().stream()
        .map(p -> new Pair(p.aId(), p.bId())).toList()));
    if (strategy == Strategy.MAX_ENTROPY) {
      assertThat(onSpark.pairs()).hasSize((int) onServer.numCandidates());
    } else {
      assertThat(b).isEqualTo(10);
    }
  }

  @Test
  void crossPromptSamplingNeverReturnsALabeledPendingOrSameResponsePair() {
    Selection pending = client.selectBatch("p", SelectOptions.of(20, Strategy.MAX_ENTROPY));
    try {
      SelectionState st = client.exportSelectionState("p");
      assertThat(st.pendingPairs()).hasSize(20);
      Set<String> excluded = keys(st.labeledPairs());
      excluded.addAll(keys(st.pendingPairs()));
      // 200 of the 3 160 pairs of 80 responses, drawn in 4 buckets of about 20 responses (50 each).
      List<Row> cand = SparkSelection.candidates(spark, PoolInput.read(spark, poolPath), st,
          SparkSelectOptions.crossPrompt(Strategy.MAX_ENTROPY, 1, 200, 7)).collectAsList();
      Set<String> seen = new HashSet<>();
      for (Row r : cand) {
        String a = r.getString(1);
        String bb = r.getString(2);
        assertThat(a).isNotEqualTo(bb);
        String key = SparkSelection.canon(a, bb);
        assertThat(excluded).doesNotContain(key);
        assertThat(seen.add(key)).as("pair %s,%s drawn twice", a, bb).isTrue();
      }
      assertThat(cand).hasSize(200);
    } finally {
      client.releasePairs("p", pending.selectionId());
    }
  }

  @Test
  void crossPromptBlocksCarryPhiOncePerResponseWithBothEndsOfEveryPair() {
    SelectionState st = client.exportSelectionState("p");
    SparkSelectOptions o = SparkSelectOptions.crossPrompt(Strategy.DOPT, 1, 200, 7);
    org.apache.spark.sql.Dataset<Row> pool = PoolInput.read(spark, poolPath);
    List<Row> pairs = SparkSelection.candidates(spark, pool, st, o).collectAsList();
    // An exact filter (a Bloom filter that never errs) so the count below is exact.
    Set<String> touched = new HashSet<>();
    pairs.forEach(r -> {
      touched.add(r.getString(1));
      touched.add(r.getString(2));
    });
    org.apache.spark.util.sketch.BloomFilter exact = org.apache.spark.util.sketch.BloomFilter.create(1_000_000, 1e-9);
    touched.forEach(exact::putString);
    Blocks.Placement where = Blocks.generated(
        org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(exact),
        BlockOf.byResponse(o.candidatePartitions(), o.seed()));
    List<Row> features = Blocks.features(pool, where, D, st.layerSizes(), st.parameters(), st.modelVersion())
        .collectAsList();

    java.util.Map<String, Integer> blockOf = new java.util.HashMap<>();
    for (Row f : features) {
      assertThat(blockOf.put(f.getString(1), f.getInt(0))).as("phi of %s sent twice", f.getString(1)).isNull();
      float[] phi = new float[D];
      ByteBuffer.wrap((byte[]) f.get(2)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(phi);
      assertThat(phi).containsExactly(x[Integer.parseInt(f.getString(1).substring(1))]); // LINEAR: phi = x
    }
    assertThat(blockOf.keySet()).isEqualTo(touched);
    for (Row r : pairs) {
      assertThat(blockOf.get(r.getString(1))).isEqualTo(r.getInt(3));
      assertThat(blockOf.get(r.getString(2))).isEqualTo(r.getInt(3));
    }
  }

  @Test
  void responsesUnknownToTheProjectAreNotFoundAndNothingIsRegistered() {
    String wider = dir.resolve("with-unknown.parquet").toString();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      List<Float> emb = new ArrayList<>();
      for (int j = 0; j < D; j++) {
        emb.add(x[i][j]);
      }
      rows.add(RowFactory.create("r" + i, "q" + (i % 8), emb));
    }
    rows.add(RowFactory.create("new0", "q0", List.of(0.1f, 0.2f, 0.3f, 0.4f, 0.5f)));
    rows.add(RowFactory.create("new1", "q0", List.of(0.5f, 0.4f, 0.3f, 0.2f, 0.1f)));
    spark.createDataFrame(rows, poolSchema()).write().parquet(wider);
    int selections = client.listSelections("p").size();
    int pending = client.exportSelectionState("p").pendingPairs().size();

    // Registered without their rows (the job's own register step sends them: see
    // aServerHoldingOnlyTheLabeledPart...), ids the server lacks are NOT_FOUND.
    SparkSelectOptions o = SparkSelectOptions.explicit(Strategy.MAX_ENTROPY, 2,
        List.of(new Pair("new0", "new1"), new Pair("r0", "r1")));
    SparkSelection.Result r = SparkSelection.run(spark, wider, client, "p", o);
    Throwable e = catchThrowable(() -> SparkSelection.register(client, "p", o, r));
    assertThat(e).isInstanceOf(ActiveRmException.class);
    assertThat(((ActiveRmException) e).code()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e).hasMessageContaining("add them with AddResponses first").hasMessageContaining("new0");
    assertThat(client.listSelections("p")).hasSize(selections);
    assertThat(client.exportSelectionState("p").pendingPairs()).hasSize(pending);
  }

  /**
   * Issue 15's shape: the server holds only the labeled part of the pool (r0..r19, labels
   * among r0..r15); the job scores cross-prompt candidates over the whole Parquet pool, and
   * its register step sends the chosen rows the server lacks. They are then pending, labeled
   * by AddComparisons and fitted on like any.
   */
  @Test
  void aServerHoldingOnlyTheLabeledPartRegistersTheChosenRowsThenLabelsAndFitsThem() {
    int held = 20;
    client.createProject("off", D, Head.LINEAR, 1.0);
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    float[][] part = new float[held][];
    for (int i = 0; i < held; i++) {
      ids.add("r" + i);
      prompts.add("q" + (i % 8));
      part[i] = x[i];
    }
    client.addResponses("off", ids, prompts, part);
    List<ComparisonInput> labels = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      labels.add(ComparisonInput.of("r" + i, "r" + (i + 8), i % 3 == 0 ? Outcome.B : Outcome.A));
    }
    client.addComparisons("off", labels);
    client.fit("off", FitOptions.defaults());
    byte[] before = client.exportSelectionState("off").parameters();

    SparkSelection.Result r = SparkSelection.run(spark, poolPath, client, "off",
        SparkSelectOptions.crossPrompt(Strategy.GREEDY_DOPT, 6, 400, 3).withRegister(true));

    Set<String> chosen = new java.util.LinkedHashSet<>();
    r.pairs().forEach(p -> {
      chosen.add(p.aId());
      chosen.add(p.bId());
    });
    long unseen = chosen.stream().filter(id -> Integer.parseInt(id.substring(1)) >= held).count();
    assertThat(unseen).as("the job chose responses the server never saw").isPositive();
    assertThat(client.getProject("off").numResponses()).isEqualTo(held + unseen);
    List<String> chosenIds = List.copyOf(chosen);
    float[][] stored = client.getResponses("off", chosenIds, true).embeddings();
    for (int i = 0; i < chosenIds.size(); i++) {
      assertThat(stored[i]).containsExactly(x[Integer.parseInt(chosenIds.get(i).substring(1))]);
    }
    assertThat(r.registered().pairs()).extracting(ScoredPair::state).containsOnly(PairState.PENDING);
    assertThat(keys(client.exportSelectionState("off").pendingPairs())).isEqualTo(keys(r.pairs()));

    List<ComparisonInput> more = r.pairs().stream().map(p -> ComparisonInput.of(p.aId(), p.bId(), Outcome.A))
        .toList();
    assertThat(client.addComparisons("off", more).numPendingResolved()).isEqualTo(6);
    assertThat(client.fit("off", FitOptions.defaults()).report().numComparisons()).isEqualTo(8 + 6);
    assertThat(client.exportSelectionState("off").parameters()).isNotEqualTo(before);
    client.deleteProject("off");
  }

  @Test
  void aModelThatMovedOnWhileTheJobRanIsRefusedAndNothingIsRegistered() {
    SparkSelectOptions o = SparkSelectOptions.explicit(Strategy.DOPT, 3, candidates);
    SparkSelection.Result r = SparkSelection.run(spark, poolPath, client, "p", o);
    int selections = client.listSelections("p").size();
    int pending = client.exportSelectionState("p").pendingPairs().size();
    long fitted = client.fit("p", FitOptions.defaults()).version();
    assertThat(fitted).isGreaterThan(r.modelVersion());

    Throwable e = catchThrowable(() -> SparkSelection.register(client, "p", o, r));
    assertThat(e).isInstanceOf(ActiveRmException.class);
    assertThat(((ActiveRmException) e).code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e).hasMessageContaining("computed for model_version " + r.modelVersion())
        .hasMessageContaining("call ExportSelectionState again");
    assertThat(client.listSelections("p")).hasSize(selections);
    assertThat(client.exportSelectionState("p").pendingPairs()).hasSize(pending);
  }

  private static Set<String> keys(List<Pair> pairs) {
    Set<String> out = new HashSet<>();
    pairs.forEach(p -> out.add(SparkSelection.canon(p.aId(), p.bId())));
    return out;
  }

  /** Independent reference: log det(M + sum v z z^T) - log det M, M the exported information, in double. */
  static final class LogDetGain {
    static double of(SelectionState st, float[][] x, List<Pair> pairs) {
      int h = st.featureDim();
      double[] w = new double[h];
      ByteBuffer.wrap(st.parameters()).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(w);
      double[] m = st.information().clone();
      for (Pair p : pairs) {
        float[] a = x[Integer.parseInt(p.aId().substring(1))];
        float[] b = x[Integer.parseInt(p.bId().substring(1))];
        double[] z = new double[h];
        double s = 0;
        for (int j = 0; j < h; j++) {
          z[j] = (double) a[j] - b[j];
          s += w[j] * z[j];
        }
        double prob = 1 / (1 + Math.exp(-s));
        double v = prob * (1 - prob);
        for (int i = 0; i < h; i++) {
          for (int j = 0; j < h; j++) {
            m[i * h + j] += v * z[i] * z[j];
          }
        }
      }
      return logDet(m, h) - logDet(st.information(), h);
    }

    static double logDet(double[] a, int n) {
      double[] l = new double[n * n];
      double sum = 0;
      for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
          double s = a[i * n + j];
          for (int k = 0; k < j; k++) {
            s -= l[i * n + k] * l[j * n + k];
          }
          if (i == j) {
            l[i * n + i] = Math.sqrt(s);
            sum += 2 * Math.log(l[i * n + i]);
          } else {
            l[i * n + j] = s / l[j * n + j];
          }
        }
      }
      return sum;
    }
  }
}
