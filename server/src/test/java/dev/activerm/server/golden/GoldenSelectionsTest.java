package dev.activerm.server.golden;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddComparisonsResponse;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.ExplicitPairs;
import dev.activerm.proto.v1.FitReport;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.FitResponse;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.LinearFitOptions;
import dev.activerm.proto.v1.MlpFitOptions;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.PairScore;
import dev.activerm.proto.v1.Project;
import dev.activerm.proto.v1.ResponseIds;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.ScoreResponse;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Selection;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.proto.v1.StrategyParams;
import dev.activerm.proto.v1.WithinPrompt;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden regression test: bit-for-bit Fit, Score and SelectBatch results on fixed synthetic
 * data, for both heads (LINEAR and a small MLP) and every {@link Strategy} with every candidate
 * source, compared against the committed fixture {@code src/test/resources/golden/selections.txt}.
 *
 * <p>It exists to guard behaviour-preserving refactors of the server's internals, so it goes
 * through the public gRPC API only ({@code dev.activerm.proto.v1} and {@link TestServer}); it
 * must not import anything from {@code dev.activerm.server.core} or {@code dev.activerm.server.api}.
 *
 * <p>What it does, per head, on one project (the order is part of the golden, because every
 * selection leaves its pairs pending and later selections exclude them and, for the Fisher-based
 * strategies, count them as information already on its way):
 * <ol>
 *   <li>240 responses (40 prompts x 6, D = 16), model-free selections (RANDOM, OLS_DOPT,
 *       CORESET) before any Fit, then 120 Bradley–Terry comparisons drawn from a planted reward
 *       (linear plus a nonlinear term), with some ties and weights;
 *   <li>Fit (seeded), its report, the rewards of every response (a SHA-256 over their bits plus
 *       the first few values) and a Score call (stored ids, unstored embeddings and pairs);
 *   <li>SelectBatch for every strategy in the proto enum (UNSPECIFIED included: it is the
 *       default) x {WITHIN_PROMPT, CROSS_PROMPT with a max_candidates cap, EXPLICIT_PAIRS}, then
 *       a few variants (prompt restrictions, explicit StrategyParams, include_labeled /
 *       include_pending);
 *   <li>labels for one selection's pairs (resolving pending pairs), a warm-start refit and two
 *       more selections; finally the project's counters.
 * </ol>
 * Every double is recorded as its exact bits ({@link Double#doubleToRawLongBits}, hex) followed by
 * a 7-digit decimal in brackets for people (from {@link BigDecimal}, so it does not depend on the
 * JDK's {@code Double.toString}). Wall times, create times and selection ids are not recorded.
 *
 * <p>Compute threads are pinned to 1 through {@link ServerConfig} (OpenBLAS, the selection pool
 * and ojAlgo are process-wide settings that the server sets at start; ojAlgo's can only be
 * lowered, so 1 is the only value that every test order reaches). On the machine it was generated
 * on, the results were also identical with 2 compute threads and when repeated in one JVM.
 *
 * <p>Bit-for-bit needs one OpenBLAS kernel set: OpenBLAS (a DYNAMIC_ARCH build) picks its kernels
 * from the CPU at run time, and another kernel set rounds differently (the Cooperlake fixture
 * failed 770 of 1 114 records on an AVX2 EPYC with no code change). So the build pins the kernels
 * for every test JVM with {@code OPENBLAS_CORETYPE} (the root pom's {@code test.openblasCore},
 * Haswell: any AVX2 + FMA CPU runs it); run from an IDE, set the same variable. The fixture's
 * header records where it was generated (JVM, OS, OpenBLAS config and core) and a failure prints
 * both environments. Guard a refactor by running this test before and
 * after it on the same machine; if the committed fixture fails on a different CPU before any code
 * change, regenerate it there first (on the unchanged code) and compare against that.
 *
 * <p>Run: {@code mvn -B -o -pl proto,server test -Dtest=GoldenSelectionsTest
 * -Dsurefire.failIfNoSpecifiedTests=false}. On a mismatch the failure lists the first differing
 * lines and the full live output is written to {@code target/golden/selections.actual.txt}.
 *
 * <p>Regenerate (only when a behaviour change is intended, and say so in the commit): add
 * {@code -Dgolden.update=true}; the test then writes
 * {@code server/src/test/resources/golden/selections.txt} in the source tree (resolved from the
 * module basedir) instead of comparing. Review the diff of that file before committing it.
 */
class GoldenSelectionsTest {
  static final String FIXTURE = "src/test/resources/golden/selections.txt";
  static final String RESOURCE = "/golden/selections.txt";

  static final long DATA_SEED = 20250601L;
  static final int PROMPTS = 40;
  static final int PER_PROMPT = 6;
  static final int ROWS = PROMPTS * PER_PROMPT;
  static final int DIM = 16;
  static final int COMPARISONS = 120;
  static final int EXPLICIT_PAIRS = 150;
  static final int BATCH = 8;
  static final long CROSS_CAP = 2000;
  static final int REWARDS_LISTED = 12;

  @TempDir Path dataDir;

  /** The fixed synthetic world: embeddings, planted reward, labels and an explicit pair list. */
  static final class World {
    final float[][] x = new float[ROWS][DIM];
    final String[] ids = new String[ROWS];
    final String[] prompts = new String[ROWS];
    final double[] trueReward = new double[ROWS];
    final List<Comparison> comparisons = new ArrayList<>();
    final List<ResponsePair> explicit = new ArrayList<>();
    final float[][] unstored = new float[3][DIM];

    World() {
      SplittableRandom r = new SplittableRandom(DATA_SEED);
      double[] w = new double[DIM];
      for (int j = 0; j < DIM; j++) {
        w[j] = gaussian(r);
      }
      // Benchmark-like: each prompt has a centre, its responses scatter around it.
      for (int p = 0; p < PROMPTS; p++) {
        double[] centre = new double[DIM];
        for (int j = 0; j < DIM; j++) {
          centre[j] = gaussian(r);
        }
        for (int k = 0; k < PER_PROMPT; k++) {
          int i = p * PER_PROMPT + k;
          ids[i] = "r" + i;
          prompts[i] = "q" + p;
          for (int j = 0; j < DIM; j++) {
            x[i][j] = (float) (centre[j] + 0.6 * gaussian(r));
          }
          double lin = 0;
          for (int j = 0; j < DIM; j++) {
            lin += w[j] * x[i][j];
          }
          trueReward[i] = 0.5 * lin + 1.5 * StrictMath.tanh(x[i][0] * x[i][1]) - 0.5 * x[i][2] * x[i][2];
        }
      }
      // Labeled comparisons: half within a prompt, half across prompts; distinct pairs.
      java.util.Set<Long> seen = new java.util.HashSet<>();
      while (comparisons.size() < COMPARISONS) {
        int a;
        int b;
        if (comparisons.size() % 2 == 0) {
          int p = r.nextInt(PROMPTS);
          a = p * PER_PROMPT + r.nextInt(PER_PROMPT);
          b = p * PER_PROMPT + r.nextInt(PER_PROMPT);
        } else {
          a = r.nextInt(ROWS);
          b = r.nextInt(ROWS);
        }
        if (a == b || !seen.add(key(a, b))) {
          continue;
        }
        comparisons.add(label(a, b, r, comparisons.size()));
      }
      // Explicit candidates: 140 fresh pairs plus 10 already labeled ones.
      while (explicit.size() < EXPLICIT_PAIRS - 10) {
        int a = r.nextInt(ROWS);
        int b = r.nextInt(ROWS);
        if (a == b || !seen.add(key(a, b))) {
          continue;
        }
        explicit.add(pair(a, b));
      }
      for (int k = 0; k < 10; k++) {
        Comparison c = comparisons.get(7 * k + 3);
        explicit.add(ResponsePair.newBuilder().setAId(c.getAId()).setBId(c.getBId()).build());
      }
      for (float[] row : unstored) {
        for (int j = 0; j < DIM; j++) {
          row[j] = (float) gaussian(r);
        }
      }
    }

    /** A Bradley–Terry draw on the planted reward; 1 in 12 is a tie, 1 in 5 has weight 2. */
    Comparison label(int a, int b, SplittableRandom r, int k) {
      double p = 1 / (1 + StrictMath.exp(-(trueReward[a] - trueReward[b])));
      double u = r.nextDouble();
      Outcome o = k % 12 == 7 ? Outcome.OUTCOME_TIE : u < p ? Outcome.OUTCOME_A : Outcome.OUTCOME_B;
      return Comparison.newBuilder().setAId(ids[a]).setBId(ids[b]).setOutcome(o)
          .setAnnotatorId("ann" + (k % 3)).setWeight(k % 5 == 2 ? 2.0 : 0.0).build();
    }

    int row(String id) {
      return Integer.parseInt(id.substring(1));
    }

    ResponsePair pair(int a, int b) {
      return ResponsePair.newBuilder().setAId(ids[a]).setBId(ids[b]).build();
    }

    static long key(int a, int b) {
      return (long) Math.min(a, b) * ROWS + Math.max(a, b);
    }

    /** Box–Muller on the seeded stream (SplittableRandom has no nextGaussian in Java 17). */
    static double gaussian(SplittableRandom r) {
      double u = r.nextDouble();
      double v = r.nextDouble();
      return StrictMath.sqrt(-2 * StrictMath.log1p(-u)) * StrictMath.cos(2 * StrictMath.PI * v);
    }
  }

  /** Candidate sources of the main grid. */
  enum Source {
    WITHIN_PROMPT, CROSS_PROMPT, EXPLICIT_PAIRS
  }

  /** The live results, one line each. */
  static final class Recorder {
    final List<String> lines = new ArrayList<>();

    void add(String line) {
      lines.add(line);
    }
  }

  @Test
  void selectionsFitsAndScoresMatchTheGoldenFixture() throws Exception {
    World world = new World();
    Recorder out = new Recorder();
    String environment = environment();
    ServerConfig d = ServerConfig.defaults(dataDir);
    ServerConfig config = new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), d.cacheBytes(),
        d.grpcThreads(), 1, d.shutdownGrace(), d.security(), d.limits(), -1);
    try (TestServer server = new TestServer(config)) {
      run(server, world, out, "LINEAR", HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_LINEAR).build());
      run(server, world, out, "MLP",
          HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_MLP).addHiddenSizes(16).addHiddenSizes(16).build());
    }

    Path fixture = moduleDir().resolve(FIXTURE);
    if (Boolean.getBoolean("golden.update")) {
      Files.createDirectories(fixture.getParent());
      Files.writeString(fixture, render(out.lines, environment), StandardCharsets.UTF_8);
      System.out.println("golden.update=true: wrote " + out.lines.size() + " records to " + fixture.toAbsolutePath());
      return;
    }
    Fixture expected = readFixture();
    if (!expected.records().equals(out.lines)) {
      Path actual = moduleDir().resolve("target/golden/selections.actual.txt");
      Files.createDirectories(actual.getParent());
      Files.writeString(actual, render(out.lines, environment), StandardCharsets.UTF_8);
      throw new AssertionError(diff(expected, out.lines)
          + "\nfixture generated on: " + expected.environment() + "\nthis run:             " + environment
          + "\n(OpenBLAS picks its kernels by CPU at run time; a different core changes the last bits: the"
          + " build pins them with OPENBLAS_CORETYPE, so run through Maven or set that variable to the"
          + " fixture's core)"
          + "\nfull live output: " + actual.toAbsolutePath()
          + "\ncompare with: diff " + fixture + " " + actual
          + "\nif the change is intended, regenerate with -Dgolden.update=true and review the fixture's diff");
    }
  }

  /** One head's whole scenario on project "golden-<head>"; the order of calls is part of the golden. */
  static void run(TestServer server, World world, Recorder out, String head, HeadConfig headConfig) {
    ActiveRewardModelingServiceBlockingStub stub = server.blocking();
    String project = "golden-" + head.toLowerCase();
    stub.createProject(CreateProjectRequest.newBuilder().setProjectId(project).setEmbeddingDim(DIM)
        .setHead(headConfig).setL2(0.5).build());
    // Two chunks, so the streaming path is part of it.
    int half = ROWS / 2;
    TestServer.upload(server.async(),
        AddResponsesRequest.newBuilder().setProjectId(project)
            .addAllResponseIds(List.of(world.ids).subList(0, half))
            .addAllPromptIds(List.of(world.prompts).subList(0, half))
            .setEmbeddings(TestServer.matrix(java.util.Arrays.copyOfRange(world.x, 0, half))).build(),
        AddResponsesRequest.newBuilder()
            .addAllResponseIds(List.of(world.ids).subList(half, ROWS))
            .addAllPromptIds(List.of(world.prompts).subList(half, ROWS))
            .setEmbeddings(TestServer.matrix(java.util.Arrays.copyOfRange(world.x, half, ROWS))).build());

    Selector sel = new Selector(stub, project, head, world, out);
    // Model-free strategies before any model: they design on the raw embeddings.
    sel.select("prefit", Strategy.STRATEGY_RANDOM, Source.CROSS_PROMPT);
    sel.select("prefit", Strategy.STRATEGY_OLS_DOPT, Source.CROSS_PROMPT);
    sel.select("prefit", Strategy.STRATEGY_CORESET, Source.WITHIN_PROMPT);

    AddComparisonsResponse added = stub.addComparisons(
        AddComparisonsRequest.newBuilder().setProjectId(project).addAllComparisons(world.comparisons).build());
    out.add(head + " add_comparisons num_added=" + added.getNumAdded() + " num_comparisons="
        + added.getNumComparisons() + " num_pending_resolved=" + added.getNumPendingResolved());

    fit(stub, world, out, head, project, false, 11);
    score(stub, world, out, head, project);

    for (Strategy s : Strategy.values()) {
      if (s == Strategy.UNRECOGNIZED || s == Strategy.STRATEGY_BATCH_DOPT || s == Strategy.STRATEGY_VOPT) {
        continue; // UNRECOGNIZED is not a strategy; BATCH_DOPT and VOPT run last (below)
      }
      for (Source source : Source.values()) {
        sel.select("grid", s, source);
      }
    }

    // Variants: prompt restrictions, explicit knobs, include flags.
    List<String> someprompts = List.of("q3", "q17", "q17", "q29", "q38");
    sel.run("restricted", SelectBatchRequest.newBuilder().setStrategy(Strategy.STRATEGY_GREEDY_DOPT)
        .setCandidates(Candidates.newBuilder().setWithinPrompt(WithinPrompt.newBuilder().addAllPromptIds(someprompts))));
    sel.run("restricted", SelectBatchRequest.newBuilder().setStrategy(Strategy.STRATEGY_BATCHBALD)
        .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.newBuilder().addAllPromptIds(someprompts)))
        .setMaxCandidates(100));
    StrategyParams knobs = StrategyParams.newBuilder().setRidge(0.25).setCoresetClusters(4).setCoresetRadius(2.5)
        .setPosteriorSamples(64).setBatchbaldPool(40).setBatchbaldConfigurations(32).build();
    for (Strategy s : new Strategy[] {Strategy.STRATEGY_OLS_DOPT, Strategy.STRATEGY_DOPT,
        Strategy.STRATEGY_PAST_AWARE_DOPT, Strategy.STRATEGY_CORESET, Strategy.STRATEGY_BATCHBALD}) {
      sel.run("knobs", sel.request(s, Source.CROSS_PROMPT).setParams(knobs));
    }
    sel.run("flags", sel.request(Strategy.STRATEGY_GREEDY_DOPT, Source.EXPLICIT_PAIRS)
        .setIncludeLabeled(true).setIncludePending(true));
    sel.run("flags", sel.request(Strategy.STRATEGY_MAX_ENTROPY, Source.WITHIN_PROMPT)
        .setIncludeLabeled(true).setIncludePending(true));

    // Label the pairs of the grid's GREEDY_DOPT CROSS_PROMPT selection (they are pending), refit warm.
    Selection toLabel = sel.byTag.get("grid GREEDY_DOPT CROSS_PROMPT");
    AddComparisonsRequest.Builder labels = AddComparisonsRequest.newBuilder().setProjectId(project);
    SplittableRandom lr = new SplittableRandom(DATA_SEED + 1);
    int k = 0;
    for (ScoredPair p : toLabel.getPairsList()) {
      labels.addComparisons(world.label(world.row(p.getAId()), world.row(p.getBId()), lr, k++));
    }
    added = stub.addComparisons(labels.build());
    out.add(head + " add_comparisons num_added=" + added.getNumAdded() + " num_comparisons="
        + added.getNumComparisons() + " num_pending_resolved=" + added.getNumPendingResolved());
    fit(stub, world, out, head, project, true, 12);
    sel.select("refit", Strategy.STRATEGY_GREEDY_DOPT, Source.CROSS_PROMPT);
    sel.select("refit", Strategy.STRATEGY_BATCHBALD, Source.WITHIN_PROMPT);
    // Strategies added after the fixture was first recorded run last, so that every earlier
    // record (and the seed each selection derives from its position) stays as it was.
    for (Source source : Source.values()) {
      sel.select("late", Strategy.STRATEGY_BATCH_DOPT, source);
    }
    sel.run("late knobs", sel.request(Strategy.STRATEGY_BATCH_DOPT, Source.CROSS_PROMPT).setParams(knobs));
    for (Source source : Source.values()) {
      sel.select("later", Strategy.STRATEGY_VOPT, source);
    }
    sel.run("later knobs", sel.request(Strategy.STRATEGY_VOPT, Source.CROSS_PROMPT).setParams(knobs));

    Project info = stub.getProject(GetProjectRequest.newBuilder().setProjectId(project).build()).getProject();
    out.add(head + " project num_responses=" + info.getNumResponses() + " num_prompts=" + info.getNumPrompts()
        + " num_comparisons=" + info.getNumComparisons() + " num_pending_pairs=" + info.getNumPendingPairs()
        + " latest_model_version=" + info.getLatestModelVersion() + " l2=" + bits(info.getL2()));
  }

  static void fit(ActiveRewardModelingServiceBlockingStub stub, World world, Recorder out, String head,
      String project, boolean warm, long seed) {
    FitResponse f = stub.fit(FitRequest.newBuilder().setProjectId(project).setSeed(seed).setWarmStart(warm)
        .setLinear(LinearFitOptions.newBuilder().setMaxIterations(50).setTolerance(1e-9))
        .setMlp(MlpFitOptions.newBuilder().setLearningRate(2e-2).setEpochs(60).setBatchSize(32)
            .setWeightDecay(1e-4).setValidationFraction(0.2).setPatience(8))
        .build());
    FitReport r = f.getModel().getReport();
    String tag = head + " fit v" + f.getModel().getVersion();
    out.add(tag + " head=" + f.getModel().getHeadType() + " warm_start=" + warm + " seed=" + seed
        + " iterations=" + r.getIterations() + " converged=" + r.getConverged()
        + " num_comparisons=" + r.getNumComparisons());
    out.add(tag + " loss=" + bits(r.getLoss()) + " gradient_norm=" + bits(r.getGradientNorm()));
    out.add(tag + " train_accuracy=" + bits(r.getTrainAccuracy())
        + " validation_accuracy=" + bits(r.getValidationAccuracy()));
    ScoreResponse all = stub.score(ScoreRequest.newBuilder().setProjectId(project)
        .setResponseIds(ResponseIds.newBuilder().addAllIds(List.of(world.ids))).build());
    assertThat(all.getRewardsCount()).isEqualTo(ROWS);
    out.add(tag + " rewards model_version=" + all.getModelVersion() + " count=" + all.getRewardsCount()
        + " sha256=" + sha256(all.getRewardsList()));
    for (int i = 0; i < REWARDS_LISTED; i++) {
      out.add(tag + " reward " + world.ids[i] + " " + bits(all.getRewards(i)));
    }
  }

  static void score(ActiveRewardModelingServiceBlockingStub stub, World world, Recorder out, String head,
      String project) {
    List<ResponsePair> pairs = List.of(
        world.pair(0, 1), world.pair(5, 0), world.pair(12, 200), world.pair(239, 6),
        world.pair(world.row(world.comparisons.get(0).getAId()), world.row(world.comparisons.get(0).getBId())),
        world.pair(100, 101));
    ScoreResponse byId = stub.score(ScoreRequest.newBuilder().setProjectId(project)
        .setResponseIds(ResponseIds.newBuilder().addIds("r3").addIds("r77").addIds("r150")).addAllPairs(pairs)
        .build());
    String tag = head + " score v" + byId.getModelVersion();
    for (int i = 0; i < byId.getRewardsCount(); i++) {
      out.add(tag + " reward[" + i + "] " + bits(byId.getRewards(i)));
    }
    for (PairScore p : byId.getPairScoresList()) {
      out.add(tag + " pair " + p.getAId() + " " + p.getBId() + " p=" + bits(p.getProbability())
          + " sd=" + bits(p.getRewardDiffStddev()));
    }
    ScoreResponse unstored = stub.score(ScoreRequest.newBuilder().setProjectId(project)
        .setEmbeddings(TestServer.matrix(world.unstored)).build());
    for (int i = 0; i < unstored.getRewardsCount(); i++) {
      out.add(tag + " unstored[" + i + "] " + bits(unstored.getRewards(i)));
    }
  }

  /** Issues SelectBatch calls with a running seed and records each selection. */
  static final class Selector {
    final ActiveRewardModelingServiceBlockingStub stub;
    final String project;
    final String head;
    final World world;
    final Recorder out;
    final java.util.Map<String, Selection> byTag = new java.util.HashMap<>();
    int calls;

    Selector(ActiveRewardModelingServiceBlockingStub stub, String project, String head, World world, Recorder out) {
      this.stub = stub;
      this.project = project;
      this.head = head;
      this.world = world;
      this.out = out;
    }

    SelectBatchRequest.Builder request(Strategy s, Source source) {
      SelectBatchRequest.Builder r = SelectBatchRequest.newBuilder().setStrategy(s);
      switch (source) {
        case WITHIN_PROMPT -> r.setCandidates(Candidates.newBuilder().setWithinPrompt(WithinPrompt.getDefaultInstance()));
        case CROSS_PROMPT -> r.setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance()))
            .setMaxCandidates(CROSS_CAP);
        case EXPLICIT_PAIRS -> r.setCandidates(Candidates.newBuilder()
            .setExplicitPairs(ExplicitPairs.newBuilder().addAllPairs(world.explicit)));
      }
      return r;
    }

    void select(String phase, Strategy s, Source source) {
      run(phase, request(s, source));
    }

    void run(String phase, SelectBatchRequest.Builder r) {
      int n = calls++;
      long seed = 1000 + n;
      SelectBatchRequest req = r.setProjectId(project).setBatchSize(BATCH).setSeed(seed).build();
      Selection s = stub.selectBatch(req).getSelection();
      Selection stored = stub.getSelection(GetSelectionRequest.newBuilder().setProjectId(project)
          .setSelectionId(s.getSelectionId()).build()).getSelection();
      assertThat(stored.getPairsList()).as("GetSelection returns the pairs SelectBatch chose").isEqualTo(s.getPairsList());
      String source = switch (req.getCandidates().getSourceCase()) {
        case WITHIN_PROMPT -> "WITHIN_PROMPT";
        case CROSS_PROMPT -> "CROSS_PROMPT";
        case EXPLICIT_PAIRS -> "EXPLICIT_PAIRS";
        case SOURCE_NOT_SET -> "DEFAULT";
      };
      String strategy = req.getStrategy().name().replaceFirst("^STRATEGY_", "");
      byTag.putIfAbsent(phase + " " + strategy + " " + source, s);
      String tag = String.format("%s select#%02d %s %s %s", head, n, phase, strategy, source);
      StrategyParams p = s.getParams();
      out.add(tag + " seed=" + s.getSeed() + " strategy=" + s.getStrategy() + " batch_size=" + s.getBatchSize()
          + " model_version=" + s.getModelVersion() + " num_candidates=" + s.getNumCandidates()
          + " max_candidates=" + s.getMaxCandidates() + " candidate_source=" + s.getCandidateSource()
          + " num_prompts=" + s.getNumPrompts() + " include_labeled=" + s.getIncludeLabeled()
          + " include_pending=" + s.getIncludePending());
      out.add(tag + " params ridge=" + bits(p.getRidge()) + " coreset_clusters=" + p.getCoresetClusters()
          + " coreset_radius=" + bits(p.getCoresetRadius()) + " posterior_samples=" + p.getPosteriorSamples()
          + " batchbald_pool=" + p.getBatchbaldPool() + " batchbald_configurations=" + p.getBatchbaldConfigurations());
      for (int i = 0; i < s.getPairsCount(); i++) {
        ScoredPair sp = s.getPairs(i);
        out.add(tag + " " + i + ": " + sp.getAId() + " " + sp.getBId() + " " + bits(sp.getScore()));
      }
    }
  }

  /** Exact bits, then a 7-digit decimal for people (BigDecimal: independent of the JDK's Double.toString). */
  static String bits(double v) {
    String hex = String.format("0x%016x", Double.doubleToRawLongBits(v));
    String human = Double.isFinite(v) ? new BigDecimal(v).round(new MathContext(7)).toString() : Double.toString(v);
    return hex + "[" + human + "]";
  }

  static String sha256(List<Double> values) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (double v : values) {
        long b = Double.doubleToRawLongBits(v);
        for (int i = 0; i < 8; i++) {
          md.update((byte) (b >>> (8 * i)));
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Surefire runs with the module as working directory and sets basedir; an IDE may set only user.dir. */
  static Path moduleDir() {
    String basedir = System.getProperty("basedir");
    Path dir = Path.of(basedir != null ? basedir : System.getProperty("user.dir"));
    if (!Files.isDirectory(dir.resolve("src/test/java/dev/activerm/server/golden")) && Files.isDirectory(dir.resolve("server"))) {
      dir = dir.resolve("server");
    }
    return dir;
  }

  static final String ENVIRONMENT_PREFIX = "# generated on: ";

  /**
   * Where the numbers come from, for the failure message only (never compared): the JVM, the CPU
   * architecture and the OpenBLAS build and kernel set it picked for this CPU. Called before the server
   * starts; reflection keeps the test free of compile-time ties to anything but the API.
   */
  static String environment() {
    String blas;
    try {
      Class<?> c = Class.forName("org.bytedeco.openblas.global.openblas_full");
      Object config = c.getMethod("openblas_get_config").invoke(null);
      blas = (String) config.getClass().getMethod("getString").invoke(config);
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      blas = "unknown (" + e + ")";
    }
    return "java " + System.getProperty("java.vm.vendor") + " " + System.getProperty("java.runtime.version")
        + ", " + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", " + blas;
  }

  static String render(List<String> records, String environment) {
    StringBuilder b = new StringBuilder();
    b.append("# activerm golden results: GoldenSelectionsTest (server/src/test/java/dev/activerm/server/golden).\n");
    b.append("# One record per line; doubles as exact bits 0x<hex>[~7 significant digits]. Lines starting with #\n");
    b.append("# are ignored. Regenerate only for an intended behaviour change:\n");
    b.append("#   mvn -B -o -pl proto,server test -Dtest=GoldenSelectionsTest -Dsurefire.failIfNoSpecifiedTests=false"
        + " -Dgolden.update=true\n");
    b.append(ENVIRONMENT_PREFIX).append(environment).append('\n');
    for (String r : records) {
      b.append(r).append('\n');
    }
    return b.toString();
  }

  /** The committed fixture: its records (comment lines dropped), their line numbers, and where it was generated. */
  record Fixture(List<String> records, List<Integer> lineNumbers, String environment) {}

  static Fixture readFixture() throws IOException {
    try (InputStream in = GoldenSelectionsTest.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new AssertionError("missing test resource " + RESOURCE + " (" + FIXTURE
            + "); generate it with -Dgolden.update=true");
      }
      List<String> records = new ArrayList<>();
      List<Integer> lineNumbers = new ArrayList<>();
      String environment = "(not recorded)";
      String[] lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        String line = lines[i];
        if (line.startsWith(ENVIRONMENT_PREFIX)) {
          environment = line.substring(ENVIRONMENT_PREFIX.length());
        } else if (!line.isEmpty() && !line.startsWith("#")) {
          records.add(line);
          lineNumbers.add(i + 1);
        }
      }
      return new Fixture(records, lineNumbers, environment);
    }
  }

  /** The first differing records with their record numbers, and the counts. */
  static String diff(Fixture fixture, List<String> actual) {
    List<String> expected = fixture.records();
    int first = 0;
    while (first < expected.size() && first < actual.size() && expected.get(first).equals(actual.get(first))) {
      first++;
    }
    int differing = 0;
    for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
      String e = i < expected.size() ? expected.get(i) : null;
      String a = i < actual.size() ? actual.get(i) : null;
      if (e == null || !e.equals(a)) {
        differing++;
      }
    }
    StringBuilder b = new StringBuilder();
    b.append("golden mismatch: ").append(differing).append(" of ").append(Math.max(expected.size(), actual.size()))
        .append(" records differ (expected ").append(expected.size()).append(", live ").append(actual.size())
        .append("); first difference at record ").append(first + 1).append(":\n");
    if (first > 0) {
      b.append("  last equal record: ").append(expected.get(first - 1)).append('\n');
    }
    int shown = 0;
    for (int i = first; i < Math.max(expected.size(), actual.size()) && shown < 12; i++) {
      String e = i < expected.size() ? expected.get(i) : "<no record>";
      String a = i < actual.size() ? actual.get(i) : "<no record>";
      if (e.equals(a)) {
        continue;
      }
      String where = i < expected.size() ? "fixture line " + fixture.lineNumbers().get(i) : "past the fixture's end";
      b.append(String.format("record %d (%s)%n  - expected: %s%n  + live:     %s%n", i + 1, where, e, a));
      shown++;
    }
    if (differing > shown) {
      b.append("  ... and ").append(differing - shown).append(" more differing records\n");
    }
    return b.toString();
  }
}
