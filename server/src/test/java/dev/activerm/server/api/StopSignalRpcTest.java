package dev.activerm.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.BatchInformation;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetPoolUncertaintyRequest;
import dev.activerm.proto.v1.GetPoolUncertaintyResponse;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.ListSelectionsRequest;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Selection;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12 section 5 through the API: every selection made with a model carries its batch's
 * information (RANDOM included), relative to the project's first measured selection, stably
 * across a restart; GetPoolUncertainty's error paths and its relation to Score. The values
 * themselves are checked against numpy in the Python suite (test_stop_signal.py) and against
 * the explicit log det in BatchInformationTest.
 */
class StopSignalRpcTest {
  private static final int DIM = 4;
  private static final int N = 40;
  @TempDir Path dir;

  private static void project(TestServer server) {
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
    Random r = new Random(5);
    float[][] x = new float[N][DIM];
    AddResponsesRequest.Builder req = AddResponsesRequest.newBuilder().setProjectId("p");
    for (int i = 0; i < N; i++) {
      req.addResponseIds("r" + i).addPromptIds("q" + (i % 4));
      for (int j = 0; j < DIM; j++) {
        x[i][j] = (float) r.nextGaussian();
      }
    }
    TestServer.upload(server.async(), req.setEmbeddings(TestServer.matrix(x)).build());
    AddComparisonsRequest.Builder c = AddComparisonsRequest.newBuilder().setProjectId("p");
    for (int k = 0; k < 30; k++) {
      int a = r.nextInt(N);
      int b = (a + 1 + r.nextInt(N - 1)) % N;
      c.addComparisons(Comparison.newBuilder().setAId("r" + a).setBId("r" + b)
          .setOutcome(x[a][0] > x[b][0] ? Outcome.OUTCOME_A : Outcome.OUTCOME_B));
    }
    server.blocking().addComparisons(c.build());
  }

  private static Selection select(TestServer server, Strategy s, int size, long seed) {
    return server.blocking().selectBatch(SelectBatchRequest.newBuilder().setProjectId("p").setStrategy(s)
        .setBatchSize(size).setSeed(seed)
        .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance())).build())
        .getSelection();
  }

  @Test
  void everySelectionWithAModelCarriesItsGainRelativeToTheFirstMeasuredOne() throws Exception {
    try (TestServer server = new TestServer(dir)) {
      project(server);
      // No model yet: no features to measure in, so no information (the selection still stands).
      Selection before = select(server, Strategy.STRATEGY_RANDOM, 4, 1);
      assertThat(before.hasInformation()).isFalse();
      server.blocking().fit(FitRequest.newBuilder().setProjectId("p").build());

      Selection first = select(server, Strategy.STRATEGY_RANDOM, 6, 2);
      assertThat(first.hasInformation()).isTrue();
      BatchInformation i1 = first.getInformation();
      assertThat(i1.getLogDetGain()).isPositive();
      assertThat(i1.getGainPerLabel()).isCloseTo(i1.getLogDetGain() / 6, within(1e-15));
      assertThat(i1.getRelativeGainPerLabel()).isEqualTo(1.0);
      assertThat(i1.getReferenceSelectionId()).isEqualTo(first.getSelectionId());

      for (Strategy s : new Strategy[] {Strategy.STRATEGY_GREEDY_DOPT, Strategy.STRATEGY_MAX_ENTROPY,
          Strategy.STRATEGY_DOPT, Strategy.STRATEGY_BALD}) {
        Selection next = select(server, s, 6, 3);
        BatchInformation in = next.getInformation();
        assertThat(next.hasInformation()).as("%s", s).isTrue();
        assertThat(in.getReferenceSelectionId()).isEqualTo(first.getSelectionId());
        assertThat(in.getRelativeGainPerLabel())
            .isCloseTo(in.getGainPerLabel() / i1.getGainPerLabel(), within(1e-12));
        assertThat(in.getLogDetGain()).as("%s", s).isPositive();
      }

      server.restart();
      Selection again = server.blocking().getSelection(GetSelectionRequest.newBuilder().setProjectId("p")
          .setSelectionId(first.getSelectionId()).build()).getSelection();
      assertThat(again.getInformation()).isEqualTo(i1);
      assertThat(server.blocking().listSelections(ListSelectionsRequest.newBuilder().setProjectId("p").build())
          .getSelectionsList()).filteredOn(Selection::hasInformation).hasSize(5)
          .allSatisfy(s -> assertThat(s.getInformation().getReferenceSelectionId()).isEqualTo(first.getSelectionId()));
      // After the restart the reference is still the first measured selection.
      Selection later = select(server, Strategy.STRATEGY_RANDOM, 6, 4);
      assertThat(later.getInformation().getReferenceSelectionId()).isEqualTo(first.getSelectionId());
    }
  }

  @Test
  void poolUncertaintyNeedsAModelChecksItsArgumentsAndFallsWithLabels() throws Exception {
    try (TestServer server = new TestServer(dir)) {
      project(server);
      StatusRuntimeException none = catchThrowableOfType(() -> server.blocking().getPoolUncertainty(
          GetPoolUncertaintyRequest.newBuilder().setProjectId("p").build()), StatusRuntimeException.class);
      assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(none.getStatus().getDescription()).contains("call Fit first");
      server.blocking().fit(FitRequest.newBuilder().setProjectId("p").build());
      StatusRuntimeException big = catchThrowableOfType(() -> server.blocking().getPoolUncertainty(
          GetPoolUncertaintyRequest.newBuilder().setProjectId("p").setNumPairs(100_001).build()),
          StatusRuntimeException.class);
      assertThat(big.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(TestServer.violatedFields(big)).containsExactly("num_pairs");
      StatusRuntimeException missing = catchThrowableOfType(() -> server.blocking().getPoolUncertainty(
          GetPoolUncertaintyRequest.newBuilder().setProjectId("nope").build()), StatusRuntimeException.class);
      assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);

      GetPoolUncertaintyResponse u = server.blocking().getPoolUncertainty(
          GetPoolUncertaintyRequest.newBuilder().setProjectId("p").setNumPairs(2000).setSeed(7).build());
      assertThat(u.getModelVersion()).isEqualTo(1);
      assertThat(u.getNumPairs()).isEqualTo(2000);
      assertThat(u.getMedianVariance()).isLessThanOrEqualTo(u.getP90Variance());
      assertThat(u.getP90Variance()).isLessThanOrEqualTo(u.getMaxVariance());
      assertThat(u.getMeanVariance()).isPositive().isLessThanOrEqualTo(u.getMaxVariance());
      assertThat(u.getMeanBernoulliVariance()).isPositive().isLessThanOrEqualTo(0.25);
      // The same seed gives the same sample, so the same numbers.
      assertThat(server.blocking().getPoolUncertainty(
          GetPoolUncertaintyRequest.newBuilder().setProjectId("p").setNumPairs(2000).setSeed(7).build()))
          .isEqualTo(u);

      // Ten times the labels (the same 30 comparisons repeated): the posterior variance falls.
      for (int round = 0; round < 9; round++) {
        AddComparisonsRequest.Builder c = AddComparisonsRequest.newBuilder().setProjectId("p");
        for (int k = 0; k < 30; k++) {
          c.addComparisons(Comparison.newBuilder().setAId("r" + k).setBId("r" + ((k + 1 + round) % N))
              .setOutcome(k % 2 == 0 ? Outcome.OUTCOME_A : Outcome.OUTCOME_B));
        }
        server.blocking().addComparisons(c.build());
      }
      server.blocking().fit(FitRequest.newBuilder().setProjectId("p").build());
      GetPoolUncertaintyResponse after = server.blocking().getPoolUncertainty(
          GetPoolUncertaintyRequest.newBuilder().setProjectId("p").setNumPairs(2000).setSeed(7).build());
      assertThat(after.getModelVersion()).isEqualTo(2);
      assertThat(after.getMeanVariance()).isLessThan(u.getMeanVariance());
    }
  }
}
