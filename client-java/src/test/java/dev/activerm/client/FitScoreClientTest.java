package dev.activerm.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Model;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Scores;
import dev.activerm.server.ActiveRmServer;
import dev.activerm.server.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fit and Score through the typed client against a real in-process server. */
class FitScoreClientTest {
  static final int DIM = 3;
  static final int ROWS = 12;

  @TempDir Path dataDir;
  ActiveRmServer server;
  ManagedChannel channel;
  ActiveRmClient client;
  float[][] x = new float[ROWS][DIM];
  List<String> ids = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = new ActiveRmServer(InProcessServerBuilder.forName(name), ServerConfig.defaults(dataDir)).start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = ActiveRmClient.builder().channel(channel).build();
    Random random = new Random(5);
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      for (int j = 0; j < DIM; j++) {
        x[i][j] = (float) random.nextGaussian();
      }
      ids.add("r" + i);
      prompts.add("q");
    }
    client.createProject("lin", DIM, Head.LINEAR, 1.0);
    client.addResponses("lin", ids, prompts, x);
    client.createProject("mlp", DIM, Head.MLP, List.of(6, 4), 1.0);
    client.addResponses("mlp", ids, prompts, x);
  }

  @AfterEach
  void stop() {
    client.close();
    channel.shutdownNow();
    server.close();
  }

  void label(String project) {
    List<ComparisonInput> cs = new ArrayList<>();
    for (int k = 0; k < 30; k++) {
      int a = k % ROWS;
      int b = (5 * k + 1) % ROWS;
      if (a == b) {
        continue;
      }
      Outcome o = x[a][0] > x[b][0] ? Outcome.A : Outcome.B;
      cs.add(new ComparisonInput("r" + a, "r" + b, o, "", 0));
    }
    client.addComparisons(project, cs);
  }

  @Test
  void fitAndScoreReturnTypedResults() {
    label("lin");
    Model m = client.fit("lin", FitOptions.defaults());
    assertThat(m.version()).isEqualTo(1);
    assertThat(m.head()).isEqualTo(Head.LINEAR);
    assertThat(m.report().converged()).isTrue();
    assertThat(m.report().numComparisons()).isPositive();
    assertThat(m.report().wallTime()).isPositive();

    Scores s = client.score("lin", 0, ids, List.of(new Pair("r0", "r1")));
    assertThat(s.modelVersion()).isEqualTo(1);
    assertThat(s.rewards()).hasSize(ROWS);
    assertThat(s.pairScores().get(0).probability())
        .isCloseTo(1 / (1 + Math.exp(-(s.rewards()[0] - s.rewards()[1]))), within(1e-12));
    assertThat(s.pairScores().get(0).rewardDiffStddev()).isPositive();
    assertThat(client.scoreEmbeddings("lin", 1, x).rewards()).containsExactly(s.rewards());
  }

  @Test
  void mlpFitHonoursEpochsAndSeed() {
    label("mlp");
    Model a = client.fit("mlp", FitOptions.defaults().withSeed(3).withEpochs(4));
    double[] ra = client.score("mlp", 0, ids, List.of()).rewards();
    Model b = client.fit("mlp", FitOptions.defaults().withSeed(3).withEpochs(4));
    double[] rb = client.score("mlp", 0, ids, List.of()).rewards();
    assertThat(a.head()).isEqualTo(Head.MLP);
    assertThat(a.report().iterations()).isEqualTo(4);
    assertThat(b.version()).isEqualTo(2);
    assertThat(rb).containsExactly(ra);
  }

  /** untilConverged reaches the server: more epochs than the default 10 and a converged report. */
  @Test
  void mlpFitUntilConverged() {
    label("mlp");
    Model tenEpochs = client.fit("mlp", FitOptions.defaults().withSeed(3));
    Model until = client.fit("mlp", FitOptions.defaults().withSeed(3).withUntilConverged(true));
    assertThat(tenEpochs.report().iterations()).isEqualTo(10);
    assertThat(until.report().iterations()).isGreaterThan(10);
    assertThat(until.report().converged()).isTrue();
  }

  @Test
  void errorsKeepTheirCodeAndMessage() {
    ActiveRmException noLabels = catchThrowableOfType(ActiveRmException.class,
        () -> client.fit("lin", FitOptions.defaults()));
    assertThat(noLabels.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(noLabels.description()).contains("at least 1");

    ActiveRmException noModel = catchThrowableOfType(ActiveRmException.class,
        () -> client.score("lin", 0, ids, List.of()));
    assertThat(noModel.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(noModel.description()).contains("call Fit first");

    label("lin");
    client.fit("lin", FitOptions.defaults());
    ActiveRmException dim = catchThrowableOfType(ActiveRmException.class,
        () -> client.scoreEmbeddings("lin", 0, new float[][] {{1, 2}}));
    assertThat(dim.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(dim.violations()).extracting(ActiveRmException.FieldViolation::field).containsExactly("embeddings.cols");

    ActiveRmException version = catchThrowableOfType(ActiveRmException.class,
        () -> client.score("lin", 4, ids, List.of()));
    assertThat(version.code()).isEqualTo(Status.Code.NOT_FOUND);
  }

  /**
   * Issue 12 section 5: GetPoolUncertainty samples only live responses, so with two left every
   * sampled pair is that pair and every statistic is Score's reward_diff_stddev squared (and
   * p (1 - p) of its probability); SelectBatch's information reaches the typed Selection.
   */
  @Test
  void poolUncertaintyOverTwoLiveResponsesIsThatPairsScoreVariance() {
    label("lin");
    client.fit("lin", FitOptions.defaults());
    Types.Selection sel = client.selectBatch("lin", SelectOptions.of(3, Types.Strategy.RANDOM).withSeed(2));
    assertThat(sel.information()).isNotNull();
    assertThat(sel.information().referenceSelectionId()).isEqualTo(sel.selectionId());
    assertThat(sel.information().relativeGainPerLabel()).isEqualTo(1.0);
    assertThat(sel.information().gainPerLabel() * sel.pairs().size())
        .isCloseTo(sel.information().logDetGain(), within(1e-12));
    List<String> retire = new ArrayList<>(ids.subList(2, ROWS));
    client.retireResponses("lin", retire);
    Types.PoolUncertainty u = client.poolUncertainty("lin", 0, 500, 3);
    Scores s = client.score("lin", 0, List.of(), List.of(new Pair("r0", "r1")));
    double var = s.pairScores().get(0).rewardDiffStddev() * s.pairScores().get(0).rewardDiffStddev();
    double p = s.pairScores().get(0).probability();
    assertThat(u.numPairs()).isEqualTo(500);
    assertThat(u.modelVersion()).isEqualTo(1);
    for (double v : new double[] {u.meanVariance(), u.medianVariance(), u.p90Variance(), u.maxVariance()}) {
      assertThat(v).isCloseTo(var, within(1e-12 * var));
    }
    assertThat(u.meanBernoulliVariance()).isCloseTo(p * (1 - p), within(1e-12));
  }
}
