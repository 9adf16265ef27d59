package dev.activerm.server.api;

import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 14 item 10: sizes no heap holds are refused up front with RESOURCE_EXHAUSTED naming
 * the knob to lower (not by catching OutOfMemoryError after the damage), and nothing is stored.
 */
class MemoryLimitsRpcTest {
  @TempDir Path dir;
  private TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = new TestServer(dir);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private void project(String id, int dim, HeadType head, List<Integer> hidden) {
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId(id).setEmbeddingDim(dim)
        .setHead(HeadConfig.newBuilder().setType(head).addAllHiddenSizes(hidden)).build());
    float[][] x = new float[4][dim];
    for (int i = 0; i < 4; i++) {
      x[i][i % dim] = 1;
    }
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId(id)
        .addAllResponseIds(List.of("a", "b", "c", "d")).addAllPromptIds(List.of("p", "q", "p", "q"))
        .setEmbeddings(TestServer.matrix(x)).build());
    server.blocking().addComparisons(AddComparisonsRequest.newBuilder().setProjectId(id)
        .addComparisons(Comparison.newBuilder().setAId("a").setBId("b").setOutcome(Outcome.OUTCOME_A))
        .addComparisons(Comparison.newBuilder().setAId("c").setBId("d").setOutcome(Outcome.OUTCOME_B)).build());
  }

  @Test
  void selectBatchAtDimension65536IsRefusedNamingTheHxHMatrices() {
    project("wide", 65_536, HeadType.HEAD_TYPE_LINEAR, Collections.emptyList());
    server.blocking().fit(FitRequest.newBuilder().setProjectId("wide").build());
    for (Strategy s : List.of(Strategy.STRATEGY_DOPT, Strategy.STRATEGY_GREEDY_DOPT)) {
      assertThatThrownBy(() -> server.blocking().selectBatch(SelectBatchRequest.newBuilder().setProjectId("wide")
              .setStrategy(s).setBatchSize(1)
              .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance())).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED))
          .hasMessageContaining("needs about 1966") // 6 x 2^32 doubles = 196608 MiB, plus the features
          .hasMessageContaining("h x h information matrices (h = 65536");
    }
    assertThat(server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("wide").build())
        .getProject().getNumPendingPairs()).isZero();
    // A strategy without h x h matrices still works on the same project.
    assertThat(server.blocking().selectBatch(SelectBatchRequest.newBuilder().setProjectId("wide")
        .setStrategy(Strategy.STRATEGY_MAX_ENTROPY).setBatchSize(1)
        .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance())).build())
        .getSelection().getPairsCount()).isEqualTo(1);
  }

  @Test
  void fitOfAHugeMlpIsRefusedBeforeItsWeightsAreAllocated() {
    project("huge", 4, HeadType.HEAD_TYPE_MLP, List.of(8192, 8192, 8192, 8192, 8192, 8192, 8192, 8192));
    assertThatThrownBy(() -> server.blocking().fit(FitRequest.newBuilder().setProjectId("huge").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED))
        .hasMessageContaining("Fit of project 'huge' (MLP [8192, 8192")
        .hasMessageContaining("create a project with smaller hidden_sizes");
    assertThat(server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("huge").build())
        .getProject().getLatestModelVersion()).isZero();
  }
}
