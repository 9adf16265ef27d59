package dev.activerm.server.api;

import com.google.protobuf.ByteString;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.DeleteProjectRequest;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.FitResponse;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.LinearFitOptions;
import dev.activerm.proto.v1.Matrix;
import dev.activerm.proto.v1.MlpFitOptions;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.ResponseIds;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.ScoreResponse;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

/** Fit and Score through the real server on an in-process transport: results, every error path, restarts. */
class FitScoreRpcTest {
  static final int DIM = 4;
  static final int ROWS = 20;

  @TempDir Path dataDir;
  TestServer server;
  float[][] x;

  @BeforeEach
  void start() throws Exception {
    server = new TestServer(dataDir);
    Random random = new Random(3);
    x = new float[ROWS][DIM];
    for (float[] r : x) {
      for (int j = 0; j < DIM; j++) {
        r[j] = (float) random.nextGaussian();
      }
    }
    create("lin", HeadConfig.getDefaultInstance());
    create("mlp", HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_MLP).addHiddenSizes(8).addHiddenSizes(4).build());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  void create(String id, HeadConfig head) throws Exception {
    server.blocking().createProject(
        CreateProjectRequest.newBuilder().setProjectId(id).setEmbeddingDim(DIM).setHead(head).setL2(0.5).build());
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      ids.add("r" + i);
      prompts.add("q" + i % 3);
    }
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId(id)
        .addAllResponseIds(ids).addAllPromptIds(prompts).setEmbeddings(TestServer.matrix(x)).build());
  }

  /** Labels from the planted reward x0 - x1 (deterministic), with a tie and a weight. */
  void label(String project, int count) {
    AddComparisonsRequest.Builder r = AddComparisonsRequest.newBuilder().setProjectId(project);
    for (int k = 0; k < count; k++) {
      int a = k % ROWS;
      int b = (7 * k + 3) % ROWS;
      if (a == b) {
        b = (b + 1) % ROWS;
      }
      double diff = (x[a][0] - x[a][1]) - (x[b][0] - x[b][1]);
      Outcome o = k % 11 == 5 ? Outcome.OUTCOME_TIE : diff > 0 ? Outcome.OUTCOME_A : Outcome.OUTCOME_B;
      r.addComparisons(Comparison.newBuilder().setAId("r" + a).setBId("r" + b).setOutcome(o)
          .setWeight(k % 4 == 0 ? 2.0 : 0.0));
    }
    server.blocking().addComparisons(r.build());
  }

  FitResponse fit(String project) {
    return server.blocking().fit(FitRequest.newBuilder().setProjectId(project).setSeed(7)
        .setMlp(MlpFitOptions.newBuilder().setEpochs(5).setBatchSize(8)).build());
  }

  ScoreRequest.Builder scoreAll(String project) {
    ScoreRequest.Builder r = ScoreRequest.newBuilder().setProjectId(project);
    ResponseIds.Builder ids = ResponseIds.newBuilder();
    for (int i = 0; i < ROWS; i++) {
      ids.addIds("r" + i);
    }
    return r.setResponseIds(ids)
        .addPairs(ResponsePair.newBuilder().setAId("r0").setBId("r1"))
        .addPairs(ResponsePair.newBuilder().setAId("r5").setBId("r2"))
        .addPairs(ResponsePair.newBuilder().setAId("r19").setBId("r0"));
  }

  static StatusRuntimeException fails(Executable call) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> {
      try {
        call.execute();
      } catch (Throwable t) {
        throw t instanceof Exception e ? e : new RuntimeException(t);
      }
    });
  }

  @Test
  void linearFitReportsConvergenceAndScoresAreConsistent() {
    label("lin", 60);
    FitResponse f = fit("lin");
    assertThat(f.getModel().getVersion()).isEqualTo(1);
    assertThat(f.getModel().getHeadType()).isEqualTo(HeadType.HEAD_TYPE_LINEAR);
    assertThat(f.getModel().getReport().getConverged()).isTrue();
    assertThat(f.getModel().getReport().getGradientNorm()).isLessThanOrEqualTo(1e-8);
    assertThat(f.getModel().getReport().getIterations()).isPositive();
    assertThat(f.getModel().getReport().getNumComparisons()).isEqualTo(60);
    assertThat(f.getModel().getReport().getTrainAccuracy()).isGreaterThan(0.9);
    assertThat(f.getModel().getReport().getWallTime().getNanos() + f.getModel().getReport().getWallTime().getSeconds())
        .isPositive();

    ScoreResponse byId = server.blocking().score(scoreAll("lin").build());
    assertThat(byId.getModelVersion()).isEqualTo(1);
    assertThat(byId.getRewardsCount()).isEqualTo(ROWS);
    // The same rows sent as embeddings give the same rewards.
    ScoreResponse sent = server.blocking().score(ScoreRequest.newBuilder().setProjectId("lin")
        .setEmbeddings(TestServer.matrix(x)).build());
    assertThat(sent.getRewardsList()).isEqualTo(byId.getRewardsList());
    // P(a beats b) = sigma(r_a - r_b), and the planted order is learned.
    double r0 = byId.getRewards(0);
    double r1 = byId.getRewards(1);
    assertThat(byId.getPairScores(0).getProbability()).isCloseTo(1 / (1 + Math.exp(-(r0 - r1))), within(1e-12));
    assertThat(byId.getPairScores(0).getRewardDiffStddev()).isPositive().isFinite();
    assertThat(byId.getPairScores(1).getAId()).isEqualTo("r5");
  }

  @Test
  void everyFitIsANewVersionAndOldVersionsStayScorable() {
    label("lin", 30);
    fit("lin");
    ScoreResponse v1 = server.blocking().score(scoreAll("lin").build());
    label("lin", 30);
    FitResponse second = fit("lin");
    assertThat(second.getModel().getVersion()).isEqualTo(2);
    assertThat(second.getModel().getReport().getNumComparisons()).isEqualTo(60);
    assertThat(server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("lin").build())
        .getProject().getLatestModelVersion()).isEqualTo(2);
    ScoreResponse again = server.blocking().score(scoreAll("lin").setModelVersion(1).build());
    assertThat(again.getModelVersion()).isEqualTo(1);
    assertThat(again.getRewardsList()).isEqualTo(v1.getRewardsList());
    assertThat(again.getPairScoresList()).isEqualTo(v1.getPairScoresList());
    assertThat(server.blocking().score(scoreAll("lin").build()).getModelVersion()).isEqualTo(2);
  }

  @Test
  void warmStartFromTheLatestOptimumTakesNoNewtonSteps() {
    label("lin", 40);
    fit("lin");
    FitResponse warm = server.blocking().fit(FitRequest.newBuilder().setProjectId("lin").setWarmStart(true).build());
    assertThat(warm.getModel().getVersion()).isEqualTo(2);
    assertThat(warm.getModel().getReport().getIterations()).isZero();
    assertThat(warm.getModel().getReport().getConverged()).isTrue();
  }

  @Test
  void restartGivesIdenticalScoresForBothHeads() throws Exception {
    label("lin", 40);
    label("mlp", 40);
    fit("lin");
    fit("lin");
    fit("mlp");
    ScoreResponse lin = server.blocking().score(scoreAll("lin").build());
    ScoreResponse linV1 = server.blocking().score(scoreAll("lin").setModelVersion(1).build());
    ScoreResponse mlp = server.blocking().score(scoreAll("mlp").build());
    server.restart();
    assertThat(server.blocking().score(scoreAll("lin").build())).isEqualTo(lin);
    assertThat(server.blocking().score(scoreAll("lin").setModelVersion(1).build())).isEqualTo(linV1);
    assertThat(server.blocking().score(scoreAll("mlp").build())).isEqualTo(mlp);
    assertThat(fit("lin").getModel().getVersion()).isEqualTo(3);
  }

  @Test
  void mlpFitIsDeterministicUnderTheSeed() {
    label("mlp", 40);
    FitResponse first = fit("mlp");
    ScoreResponse a = server.blocking().score(scoreAll("mlp").build());
    FitResponse second = fit("mlp");
    ScoreResponse b = server.blocking().score(scoreAll("mlp").build());
    assertThat(first.getModel().getHeadType()).isEqualTo(HeadType.HEAD_TYPE_MLP);
    assertThat(first.getModel().getReport().getIterations()).isEqualTo(5);
    assertThat(second.getModel().getVersion()).isEqualTo(2);
    assertThat(b.getRewardsList()).isEqualTo(a.getRewardsList());
    assertThat(b.getPairScoresList()).isEqualTo(a.getPairScoresList());
  }

  /**
   * The wire's MLP schedule: epochs 0 is 10 epochs (40 labels, batch 256: 10 Adam steps, far
   * from a plateau, so converged is false: main said true), until_converged runs the stop rule
   * (more than its 200-step floor, a lower loss, converged), and both at once are refused.
   */
  @Test
  void mlpScheduleDefaultsToTenEpochsAndUntilConvergedIsOptIn() {
    label("mlp", 40);
    FitResponse byDefault = server.blocking().fit(FitRequest.newBuilder().setProjectId("mlp").setSeed(3).build());
    FitResponse converged = server.blocking().fit(FitRequest.newBuilder().setProjectId("mlp").setSeed(3)
        .setMlp(MlpFitOptions.newBuilder().setUntilConverged(true)).build());
    assertThat(byDefault.getModel().getReport().getIterations()).isEqualTo(10);
    assertThat(byDefault.getModel().getReport().getConverged()).isFalse();
    assertThat(converged.getModel().getReport().getIterations()).isBetween(200, 4000);
    assertThat(converged.getModel().getReport().getConverged()).isTrue();
    assertThat(converged.getModel().getReport().getLoss()).isLessThan(byDefault.getModel().getReport().getLoss());

    StatusRuntimeException both = fails(() -> server.blocking().fit(FitRequest.newBuilder().setProjectId("mlp")
        .setMlp(MlpFitOptions.newBuilder().setUntilConverged(true).setEpochs(5)).build()));
    assertThat(both.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(TestServer.violatedFields(both)).containsExactly("mlp.until_converged");
    assertThat(both.getStatus().getDescription()).contains("while epochs is 5", "set epochs to 0");
  }

  @Test
  void fitWithoutComparisonsSaysHowManyAreNeeded() {
    StatusRuntimeException e = fails(() -> fit("lin"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription()).contains("has 0 comparisons", "at least 1", "AddComparisons");
  }

  @Test
  void mlpWithAHeldOutFractionNeedsTwoComparisons() {
    label("mlp", 1);
    StatusRuntimeException e = fails(() -> server.blocking().fit(FitRequest.newBuilder().setProjectId("mlp")
        .setMlp(MlpFitOptions.newBuilder().setValidationFraction(0.2)).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription()).contains("has 1 comparisons", "at least 2", "validation_fraction");
  }

  @Test
  void scoreBeforeAnyFitNamesFit() {
    label("lin", 5);
    StatusRuntimeException e = fails(() -> server.blocking().score(scoreAll("lin").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription()).contains("no fitted model", "call Fit first");
  }

  @Test
  void unknownProjectIsNotFound() {
    StatusRuntimeException f = fails(() -> fit("nope"));
    StatusRuntimeException s = fails(() -> server.blocking().score(scoreAll("nope").build()));
    for (StatusRuntimeException e : List.of(f, s)) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(e.getStatus().getDescription()).contains("project 'nope' does not exist", "CreateProject");
    }
  }

  @Test
  void badFitOptionsAreInvalidAndNamed() {
    label("lin", 5);
    StatusRuntimeException e = fails(() -> server.blocking().fit(FitRequest.newBuilder().setProjectId("lin")
        .setLinear(LinearFitOptions.newBuilder().setMaxIterations(5000).setTolerance(-1))
        .setMlp(MlpFitOptions.newBuilder().setLearningRate(-1).setValidationFraction(0.7)).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(TestServer.violatedFields(e)).containsExactly(
        "linear.max_iterations", "linear.tolerance", "mlp.learning_rate", "mlp.validation_fraction");
    assertThat(e.getStatus().getDescription()).contains("use 0..1000", "0 <= f < 0.5");
  }

  @Test
  void scoreErrorsSayWhatToFix() {
    label("lin", 10);
    fit("lin");
    StatusRuntimeException dim = fails(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId("lin")
        .setEmbeddings(TestServer.matrix(new float[][] {{1, 2, 3}})).build()));
    assertThat(dim.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(dim.getStatus().getDescription()).contains("is 3", "embedding_dim 4", "rows of length 4");
    assertThat(TestServer.violatedFields(dim)).containsExactly("embeddings.cols");

    StatusRuntimeException nan = fails(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId("lin")
        .setEmbeddings(TestServer.matrix(new float[][] {{1, 2, 3, 4}, {0, Float.NaN, 0, 0}})).build()));
    assertThat(nan.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(nan.getStatus().getDescription()).contains("row 1, column 1", "finite");

    StatusRuntimeException shape = fails(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId("lin")
        .setEmbeddings(Matrix.newBuilder().setRows(2).setCols(4).setData(ByteString.copyFrom(new byte[8]))).build()));
    assertThat(shape.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(shape.getStatus().getDescription()).contains("needs 32");

    StatusRuntimeException ids = fails(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId("lin")
        .setResponseIds(ResponseIds.newBuilder().addIds("r1").addIds("ghost")).build()));
    assertThat(ids.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(ids.getStatus().getDescription()).contains("'ghost' is not a response", "AddResponses");
    assertThat(TestServer.violatedFields(ids)).containsExactly("response_ids.ids[1]");

    StatusRuntimeException pairs = fails(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId("lin")
        .addPairs(ResponsePair.newBuilder().setAId("r1").setBId("ghost")).build()));
    assertThat(pairs.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(TestServer.violatedFields(pairs)).containsExactly("pairs[0].b_id");

    StatusRuntimeException version = fails(() -> server.blocking().score(scoreAll("lin").setModelVersion(9).build()));
    assertThat(version.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(version.getStatus().getDescription()).contains("model version 9 does not exist", "1..1", "0 means the latest");

    StatusRuntimeException negative = fails(() -> server.blocking().score(scoreAll("lin").setModelVersion(-1).build()));
    assertThat(negative.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(TestServer.violatedFields(negative)).containsExactly("model_version");

    StatusRuntimeException empty = fails(() -> server.blocking().score(ScoreRequest.newBuilder().setProjectId("lin").build()));
    assertThat(empty.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(empty.getStatus().getDescription()).contains("send response_ids, embeddings or pairs");
  }

  @Test
  void aRecreatedProjectDoesNotInheritModels() throws Exception {
    label("lin", 10);
    fit("lin");
    server.blocking().deleteProject(DeleteProjectRequest.newBuilder().setProjectId("lin").build());
    create("lin", HeadConfig.getDefaultInstance());
    StatusRuntimeException e = fails(() -> server.blocking().score(scoreAll("lin").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    server.restart();
    e = fails(() -> server.blocking().score(scoreAll("lin").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
  }

  /**
   * --cache-mib bounds Score's Laplace factor: with a cache too small for the h x h factor,
   * Score with pairs is RESOURCE_EXHAUSTED and names the flag; rewards alone still work.
   */
  @Test
  void scoreUncertaintyNeedsTheFactorToFitInTheCache() throws Exception {
    label("lin", 30);
    fit("lin");
    server.close();
    ServerConfig d = ServerConfig.defaults(dataDir);
    server = new TestServer(new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(),
        8L * DIM * DIM - 1, d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), d.security(), d.limits(),
        d.metricsPort()));
    StatusRuntimeException e = fails(() -> server.blocking().score(scoreAll("lin").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription()).contains("--cache-mib");
    assertThat(server.blocking().score(scoreAll("lin").clearPairs().build()).getRewardsCount()).isEqualTo(ROWS);
  }
}
