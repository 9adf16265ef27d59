package dev.activerm.server.fuzz;

import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.FitResponse;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.MlpFitOptions;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.ResponseIds;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.ScoreResponse;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.SelectBatchResponse;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 14 item 5: finite embeddings of any magnitude (1e-30 .. 3e38, the whole pool scaled or
 * one row spiked) and any finite MLP learning rate never give INTERNAL or UNKNOWN from
 * AddResponses, Fit, every strategy of SelectBatch, or Score; whatever is answered OK (and so
 * stored) is finite.
 */
class MagnitudeProperties {
  static final int DIM = 3;
  static final int ROWS = 10;
  static Path dir;
  static TestServer server;
  static final AtomicInteger projects = new AtomicInteger();

  @BeforeContainer
  static void start() throws Exception {
    dir = Files.createTempDirectory("activerm-magnitude-");
    server = new TestServer(dir);
  }

  @AfterContainer
  static void stop() throws Exception {
    server.close();
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

  @Provide
  Arbitrary<Double> magnitudes() {
    // log-uniform over 1e-30 .. 3e38, plus the ends and the values the issue names.
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(6, Arbitraries.doubles().between(-30, 38.47).ofScale(3).map(e -> Math.pow(10, e))),
        net.jqwik.api.Tuple.of(1, Arbitraries.of(1e-30, 1e6, 1e8, 1e20, 3e38)));
  }

  @Provide
  Arbitrary<Double> learningRates() {
    return Arbitraries.of(0.0, 1e-2, 1e3, 1e30);
  }

  private static Status.Code code(Runnable call) {
    try {
      call.run();
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).as("%s", e.getStatus())
          .isNotIn(Status.Code.INTERNAL, Status.Code.UNKNOWN);
      return e.getStatus().getCode();
    }
  }

  private static <T> T call(Supplier<T> call, List<Status.Code> codes) {
    T[] out = newArray();
    codes.add(code(() -> out[0] = call.get()));
    return out[0];
  }

  @SuppressWarnings("unchecked")
  private static <T> T[] newArray() {
    return (T[]) new Object[1];
  }

  @Example
  void aDivergedFitIsFailedPreconditionAndStoresNothing() {
    String project = "diverge";
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId(project).setEmbeddingDim(DIM)
        .setHead(HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_MLP).addAllHiddenSizes(List.of(8, 8))).build());
    float[][] x = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId(project)
        .addAllResponseIds(List.of("a", "b", "c", "d")).addAllPromptIds(List.of("q", "q", "q", "q"))
        .setEmbeddings(TestServer.matrix(x)).build());
    server.blocking().addComparisons(AddComparisonsRequest.newBuilder().setProjectId(project)
        .addComparisons(Comparison.newBuilder().setAId("a").setBId("b").setOutcome(Outcome.OUTCOME_A))
        .addComparisons(Comparison.newBuilder().setAId("c").setBId("d").setOutcome(Outcome.OUTCOME_B)).build());
    assertThatThrownBy(() -> server.blocking().fit(FitRequest.newBuilder().setProjectId(project)
            .setMlp(MlpFitOptions.newBuilder().setLearningRate(1e30)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION))
        .hasMessageContaining("Fit diverged at epoch ")
        .hasMessageContaining("lower mlp.learning_rate");
    assertThat(server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId(project).build())
        .getProject().getLatestModelVersion()).as("no model stored").isZero();
  }

  @Example
  void anEmbeddingBeyondTheBoundIsInvalidArgumentNamingTheCell() {
    String project = "bound";
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId(project).setEmbeddingDim(DIM).build());
    float[][] x = {{1, 2, 3}, {4, 5, 1e8f}};
    assertThatThrownBy(() -> TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId(project)
            .addAllResponseIds(List.of("a", "b")).addAllPromptIds(List.of("q", "q"))
            .setEmbeddings(TestServer.matrix(x)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(TestServer.violatedFields(e)).containsExactly("embeddings.data");
        })
        .hasMessageContaining("row 1 (response 'b'), column 2 is 1.0E8")
        .hasMessageContaining("within [-1e6, 1e6]");
    // The bound itself is accepted.
    float[][] edge = {{1e6f, -1e6f, 0}};
    assertThat(TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId(project)
        .addResponseIds("e").addPromptIds("q").setEmbeddings(TestServer.matrix(edge)).build()).getNumAdded())
        .isEqualTo(1);
  }

  @Property(tries = 40)
  void anyFiniteMagnitudeIsComputedOrRefusedNeverInternal(
      @ForAll("magnitudes") double magnitude,
      @ForAll boolean spikeOneRow,
      @ForAll boolean mlp,
      @ForAll("learningRates") double learningRate,
      @ForAll long seed) {
    String project = "m" + projects.incrementAndGet();
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId(project).setEmbeddingDim(DIM)
        .setHead(HeadConfig.newBuilder().setType(mlp ? HeadType.HEAD_TYPE_MLP : HeadType.HEAD_TYPE_LINEAR)
            .addAllHiddenSizes(mlp ? List.of(8, 8) : List.of()))
        .build());
    SplittableRandom r = new SplittableRandom(seed);
    float[][] x = new float[ROWS][DIM];
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      ids.add("r" + i);
      prompts.add("q" + (i % 3));
      for (int j = 0; j < DIM; j++) {
        double g = r.nextGaussian();
        x[i][j] = (float) (spikeOneRow ? (i == 0 ? magnitude * Math.signum(g) : g) : magnitude * g);
      }
    }
    List<Status.Code> codes = new ArrayList<>();
    call(() -> TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId(project)
        .addAllResponseIds(ids).addAllPromptIds(prompts).setEmbeddings(TestServer.matrix(x)).build()), codes);
    Statistics.label("upload").collect(codes.get(0));
    if (codes.get(0) != Status.Code.OK) {
      assertThat(codes.get(0)).isEqualTo(Status.Code.INVALID_ARGUMENT);
      return;
    }
    List<Comparison> comparisons = new ArrayList<>();
    for (int k = 0; k < 8; k++) {
      int a = k % ROWS;
      int b = (k * 3 + 1) % ROWS;
      comparisons.add(Comparison.newBuilder().setAId("r" + a).setBId("r" + b)
          .setOutcome(r.nextBoolean() ? Outcome.OUTCOME_A : Outcome.OUTCOME_B).build());
    }
    server.blocking().addComparisons(AddComparisonsRequest.newBuilder().setProjectId(project)
        .addAllComparisons(comparisons).build());
    FitResponse fit = call(() -> server.blocking().fit(FitRequest.newBuilder().setProjectId(project)
        .setMlp(MlpFitOptions.newBuilder().setLearningRate(learningRate).setEpochs(5)).build()), codes);
    Statistics.label("fit").collect(codes.get(codes.size() - 1));
    if (fit == null) {
      return;
    }
    assertThat(fit.getModel().getReport().getLoss()).as("stored loss").isFinite();
    for (Strategy s : Strategy.values()) {
      if (s == Strategy.STRATEGY_UNSPECIFIED || s == Strategy.UNRECOGNIZED) {
        continue;
      }
      SelectBatchResponse sel = call(() -> server.blocking().selectBatch(SelectBatchRequest.newBuilder()
          .setProjectId(project).setStrategy(s).setBatchSize(3)
          .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance())).build()), codes);
      Statistics.label(s.name()).collect(codes.get(codes.size() - 1));
      if (sel != null) {
        for (ScoredPair p : sel.getSelection().getPairsList()) {
          assertThat(p.getScore()).as("%s stored score", s).isFinite();
        }
      }
    }
    ScoreResponse score = call(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId(project)
        .setResponseIds(ResponseIds.newBuilder().addAllIds(ids))
        .addPairs(ResponsePair.newBuilder().setAId("r0").setBId("r1")).build()), codes);
    Statistics.label("score").collect(codes.get(codes.size() - 1));
    if (score != null) {
      assertThat(score.getPairScores(0).getProbability()).isBetween(0.0, 1.0);
    }
    call(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId(project)
        .setEmbeddings(TestServer.matrix(x)).build()), codes);
  }
}
