package dev.activerm.server.api;

import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddComparisonsResponse;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.ListComparisonsRequest;
import dev.activerm.proto.v1.ListComparisonsResponse;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class AddComparisonsRpcTest {
  @TempDir Path dataDir;
  TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = new TestServer(dataDir);
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(2).build());
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId("p")
        .addAllResponseIds(List.of("a", "b", "c")).addAllPromptIds(List.of("q", "q", "q"))
        .setEmbeddings(TestServer.matrix(new float[][] {{1, 0}, {0, 1}, {1, 1}})).build());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  static Comparison cmp(String a, String b, Outcome o) {
    return Comparison.newBuilder().setAId(a).setBId(b).setOutcome(o).build();
  }

  AddComparisonsResponse add(Comparison... cs) {
    return server.blocking().addComparisons(
        AddComparisonsRequest.newBuilder().setProjectId("p").addAllComparisons(List.of(cs)).build());
  }

  StatusRuntimeException addFails(Comparison... cs) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> add(cs));
  }

  List<Comparison> stored() {
    ListComparisonsResponse r = server.blocking().listComparisons(
        ListComparisonsRequest.newBuilder().setProjectId("p").build());
    return r.getComparisonsList();
  }

  @Test
  void storesOutcomesWeightsAnnotatorsAndSurvivesRestart() throws Exception {
    AddComparisonsResponse r = add(
        cmp("a", "b", Outcome.OUTCOME_A),
        cmp("b", "c", Outcome.OUTCOME_TIE).toBuilder().setAnnotatorId("ann-7").setWeight(2.5).build(),
        cmp("c", "a", Outcome.OUTCOME_B));
    assertThat(r.getNumAdded()).isEqualTo(3);
    assertThat(r.getNumComparisons()).isEqualTo(3);

    List<Comparison> back = stored();
    assertThat(back).extracting(Comparison::getAId).containsExactly("a", "b", "c");
    assertThat(back).extracting(Comparison::getOutcome)
        .containsExactly(Outcome.OUTCOME_A, Outcome.OUTCOME_TIE, Outcome.OUTCOME_B);
    assertThat(back).extracting(Comparison::getWeight).containsExactly(1.0, 2.5, 1.0);
    assertThat(back.get(1).getAnnotatorId()).isEqualTo("ann-7");
    assertThat(back.get(0).getCreateTime().getSeconds()).isPositive();

    server.restart();
    assertThat(stored()).isEqualTo(back);
  }

  @Test
  void unknownResponsesAreNotFoundAndNothingIsStored() {
    StatusRuntimeException e = addFails(cmp("a", "b", Outcome.OUTCOME_A), cmp("a", "zzz", Outcome.OUTCOME_B));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("'zzz' is not a response of project 'p'").contains("AddResponses first");
    assertThat(TestServer.violatedFields(e)).containsExactly("comparisons[1].b_id");
    assertThat(stored()).isEmpty();
  }

  @Test
  void selfComparisonIsInvalid() {
    StatusRuntimeException e = addFails(cmp("a", "a", Outcome.OUTCOME_A));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).contains("cannot be compared with itself");
  }

  @Test
  void outcomeWeightAndAnnotatorAreChecked() {
    StatusRuntimeException e = addFails(
        cmp("a", "b", Outcome.OUTCOME_UNSPECIFIED),
        cmp("a", "b", Outcome.OUTCOME_A).toBuilder().setWeight(-1).build(),
        cmp("a", "b", Outcome.OUTCOME_A).toBuilder().setWeight(Double.POSITIVE_INFINITY).build(),
        cmp("a", "b", Outcome.OUTCOME_A).toBuilder().setAnnotatorId("bad id").build(),
        cmp("a", "b", Outcome.OUTCOME_A).toBuilder().setOutcomeValue(9).build());
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).contains("OUTCOME_A, OUTCOME_B or OUTCOME_TIE");
    assertThat(stored()).isEmpty();

    StatusRuntimeException checked = addFails(
        cmp("a", "b", Outcome.OUTCOME_UNSPECIFIED),
        cmp("a", "b", Outcome.OUTCOME_A).toBuilder().setWeight(-1).build(),
        cmp("a", "b", Outcome.OUTCOME_A).toBuilder().setWeight(Double.NaN).build(),
        cmp("a", "b", Outcome.OUTCOME_A).toBuilder().setAnnotatorId("bad id").build());
    assertThat(TestServer.violatedFields(checked)).containsExactly(
        "comparisons[0].outcome", "comparisons[1].weight", "comparisons[2].weight", "comparisons[3].annotator_id");
  }

  @Test
  void emptyCallAndUnknownProject() {
    StatusRuntimeException empty = addFails();
    assertThat(empty.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(empty.getStatus().getDescription()).contains("send 1..");

    StatusRuntimeException ghost = catchThrowableOfType(StatusRuntimeException.class, () -> server.blocking()
        .addComparisons(AddComparisonsRequest.newBuilder().setProjectId("ghost")
            .addComparisons(cmp("a", "b", Outcome.OUTCOME_A)).build()));
    assertThat(ghost.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }
}
