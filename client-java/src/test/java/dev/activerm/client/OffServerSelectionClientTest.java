package dev.activerm.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.PairState;
import dev.activerm.client.Types.Registration;
import dev.activerm.client.Types.ScoredPair;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.SelectionState;
import dev.activerm.client.Types.Strategy;
import dev.activerm.server.ActiveRmServer;
import dev.activerm.server.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ExportSelectionState and RegisterSelection (selections computed off the server) against an in-process server. */
class OffServerSelectionClientTest {
  static final int N = 20;
  static final int D = 3;
  static final double L2 = 0.5;

  @TempDir Path dataDir;
  ActiveRmServer server;
  ManagedChannel channel;
  ActiveRmClient client;
  float[][] x = new float[N][D];

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = new ActiveRmServer(InProcessServerBuilder.forName(name), ServerConfig.defaults(dataDir)).start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = ActiveRmClient.builder().channel(channel).build();
    Random rnd = new Random(3);
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      ids.add("r" + i);
      prompts.add("q" + (i % 4));
      for (int j = 0; j < D; j++) {
        x[i][j] = (float) rnd.nextGaussian();
      }
    }
    client.createProject("p", D, Head.LINEAR, L2);
    client.addResponses("p", ids, prompts, x);
    List<ComparisonInput> labels = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      labels.add(ComparisonInput.of("r" + i, "r" + (i + 8), i % 3 == 0 ? Outcome.B : Outcome.A));
    }
    client.addComparisons("p", labels);
    client.fit("p", FitOptions.defaults());
  }

  @AfterEach
  void stop() {
    client.close();
    channel.shutdownNow();
    server.close();
  }

  @Test
  void exportCarriesTheModelAndLambdaIPlusFisherOfLabeledAndPendingPairs() {
    Selection pendingSel = client.selectBatch("p", SelectOptions.of(2, Strategy.RANDOM).withSeed(4));
    SelectionState st = client.exportSelectionState("p");

    assertThat(st.modelVersion()).isEqualTo(1);
    assertThat(st.head()).isEqualTo(Head.LINEAR);
    assertThat(st.layerSizes()).containsExactly(D);
    assertThat(st.featureDim()).isEqualTo(D);
    assertThat(st.l2()).isEqualTo(L2);
    assertThat(st.labeledPairs()).hasSize(8).contains(new Pair("r0", "r8"));
    assertThat(st.pendingPairs()).hasSize(2);
    double[] w = new double[D];
    ByteBuffer.wrap(st.parameters()).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(w);

    // Independent reference: lambda I + sum over labeled and pending pairs of v z z^T, v = p(1 - p).
    List<Pair> all = new ArrayList<>(st.labeledPairs());
    pendingSel.pairs().forEach(p -> all.add(new Pair(p.aId(), p.bId())));
    double[] expected = new double[D * D];
    for (int j = 0; j < D; j++) {
      expected[j * D + j] = L2;
    }
    for (Pair p : all) {
      float[] xa = x[Integer.parseInt(p.aId().substring(1))];
      float[] xb = x[Integer.parseInt(p.bId().substring(1))];
      double[] z = new double[D];
      double m = 0;
      for (int j = 0; j < D; j++) {
        z[j] = (double) xa[j] - xb[j];
        m += w[j] * z[j];
      }
      double prob = 1 / (1 + Math.exp(-m));
      double v = prob * (1 - prob);
      for (int i = 0; i < D; i++) {
        for (int j = 0; j < D; j++) {
          expected[i * D + j] += v * z[i] * z[j];
        }
      }
    }
    for (int i = 0; i < D * D; i++) {
      assertThat(st.information()[i]).as("information[%d]", i).isCloseTo(expected[i], within(1e-4));
    }
    // The factor is lower triangular and L L^T reproduces the matrix.
    double[] l = st.factor();
    for (int i = 0; i < D; i++) {
      for (int j = 0; j < D; j++) {
        if (j > i) {
          assertThat(l[i * D + j]).isZero();
        }
        double s = 0;
        for (int k = 0; k < D; k++) {
          s += l[i * D + k] * l[j * D + k];
        }
        assertThat(s).isCloseTo(st.information()[i * D + j], within(1e-9));
      }
    }
  }

  @Test
  void aRegisteredBatchIsPendingThenLabeledAndFitUsesIt() {
    SelectionState st = client.exportSelectionState("p");
    List<Pair> pairs = List.of(new Pair("r1", "r2"), new Pair("r3", "r17"));
    Selection sel = client.registerSelection("p", registration(st.modelVersion(), pairs));

    assertThat(sel.computedOn()).isEqualTo("spark");
    assertThat(sel.strategy()).isEqualTo(Strategy.GREEDY_DOPT);
    assertThat(sel.modelVersion()).isEqualTo(1);
    assertThat(sel.pairs()).extracting(ScoredPair::aId).containsExactly("r1", "r3");
    assertThat(sel.pairs()).extracting(ScoredPair::score).containsExactly(0.75, 0.25);
    assertThat(sel.pairs()).extracting(ScoredPair::state).containsOnly(PairState.PENDING);
    assertThat(client.getProject("p").numPendingPairs()).isEqualTo(2);
    assertThat(client.exportSelectionState("p").pendingPairs()).containsExactlyInAnyOrderElementsOf(pairs);
    assertThat(client.getSelection("p", sel.selectionId()).computedOn()).isEqualTo("spark");

    var added = client.addComparisons("p", List.of(
        ComparisonInput.of("r1", "r2", Outcome.A), ComparisonInput.of("r17", "r3", Outcome.B)));
    assertThat(added.numPendingResolved()).isEqualTo(2);
    assertThat(client.getSelection("p", sel.selectionId()).pairs()).extracting(ScoredPair::state)
        .containsOnly(PairState.LABELED);
    assertThat(client.fit("p", FitOptions.defaults()).report().numComparisons()).isEqualTo(10);
  }

  @Test
  void registrationCarriesTheRowsOfResponsesTheServerDoesNotHold() {
    SelectionState st = client.exportSelectionState("p");
    float[] rows = {0.5f, -1f, 2f, 1.25f, 0f, -0.75f};
    Registration r = registration(st.modelVersion(), List.of(new Pair("new-0", "r2"), new Pair("new-1", "new-0")))
        .withNewResponses(new Types.ResponseRows(List.of("new-0", "new-1"), List.of("q9", "q9"), rows, D));

    Selection sel = client.registerSelection("p", r);

    assertThat(sel.pairs()).extracting(ScoredPair::state).containsOnly(PairState.PENDING);
    assertThat(client.getProject("p").numResponses()).isEqualTo(N + 2);
    float[][] back = client.getResponses("p", List.of("new-0", "new-1"), true).embeddings();
    assertThat(back[0]).containsExactly(0.5f, -1f, 2f);
    assertThat(back[1]).containsExactly(1.25f, 0f, -0.75f);
    // The same rows again: their pairs are pending now, so the call is refused and stores nothing.
    ActiveRmException again = catchThrowableOfType(ActiveRmException.class, () -> client.registerSelection("p", r));
    assertThat(again.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(client.getProject("p").numResponses()).isEqualTo(N + 2);
  }

  @Test
  void rowsWhoseShapesDisagreeAreRefusedBeforeTheCall() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> new Types.ResponseRows(List.of("a", "b"), List.of("q"), new float[2 * D], D))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one prompt id");
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> new Types.ResponseRows(List.of("a"), List.of("q"), new float[D + 1], D))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dim floats per row");
  }

  @Test
  void aStaleModelVersionIsFailedPreconditionAndStoresNothing() {
    long exported = client.exportSelectionState("p").modelVersion();
    client.addComparisons("p", List.of(ComparisonInput.of("r4", "r5", Outcome.A)));
    client.fit("p", FitOptions.defaults());

    ActiveRmException e = catchThrowableOfType(ActiveRmException.class,
        () -> client.registerSelection("p", registration(exported, List.of(new Pair("r1", "r2")))));
    assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.description()).contains("model_version 1", "latest model", "is 2", "ExportSelectionState again");
    assertThat(client.listSelections("p")).isEmpty();
    assertThat(client.getProject("p").numPendingPairs()).isZero();
  }

  @Test
  void unknownIdsLabeledPairsAndBadFieldsAreRejectedWithNothingStored() {
    long v = client.exportSelectionState("p").modelVersion();
    ActiveRmException unknown = catchThrowableOfType(ActiveRmException.class,
        () -> client.registerSelection("p", registration(v, List.of(new Pair("r1", "r2"), new Pair("r3", "nope")))));
    assertThat(unknown.code()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(unknown.description()).contains("AddResponses first");
    assertThat(unknown.violations()).extracting(ActiveRmException.FieldViolation::field).containsExactly("pairs[1].b_id");

    ActiveRmException labeled = catchThrowableOfType(ActiveRmException.class,
        () -> client.registerSelection("p", registration(v, List.of(new Pair("r1", "r2"), new Pair("r8", "r0")))));
    assertThat(labeled.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(labeled.violations()).extracting(ActiveRmException.FieldViolation::field).containsExactly("pairs[1]");
    assertThat(labeled.violations().get(0).description()).contains("already labeled");

    Registration noMarker = new Registration(Strategy.MAX_ENTROPY, v, List.of(new Pair("r1", "r2")),
        new double[] {Double.NaN}, 0, 1, SelectOptions.CandidateSource.EXPLICIT, 0, 0, "");
    ActiveRmException bad = catchThrowableOfType(ActiveRmException.class, () -> client.registerSelection("p", noMarker));
    assertThat(bad.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(bad.violations()).extracting(ActiveRmException.FieldViolation::field)
        .containsExactlyInAnyOrder("computed_on", "pairs[0].score");

    assertThat(client.listSelections("p")).isEmpty();
    assertThat(client.getProject("p").numPendingPairs()).isZero();
  }

  @Test
  void exportWithoutAModelIsFailedPrecondition() {
    client.createProject("empty", D, Head.LINEAR, 1.0);
    ActiveRmException e = catchThrowableOfType(ActiveRmException.class, () -> client.exportSelectionState("empty"));
    assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.description()).contains("call Fit first");
  }

  private static Registration registration(long version, List<Pair> pairs) {
    double[] scores = new double[pairs.size()];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = 0.75 - 0.5 * i;
    }
    return new Registration(Strategy.GREEDY_DOPT, version, pairs, scores, 7, 100,
        SelectOptions.CandidateSource.CROSS_PROMPT, 1000, 0, "spark");
  }
}
