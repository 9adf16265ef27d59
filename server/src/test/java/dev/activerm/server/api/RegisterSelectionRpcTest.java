package dev.activerm.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.ExportSelectionStateRequest;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.FitResponse;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import dev.activerm.proto.v1.ListSelectionsRequest;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.PairState;
import dev.activerm.proto.v1.Project;
import dev.activerm.proto.v1.RegisterSelectionRequest;
import dev.activerm.proto.v1.ResponseRows;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.proto.v1.Selection;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import dev.activerm.server.core.project.Limits;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RegisterSelection carrying the rows of chosen responses the server does not hold
 * (new_responses): the rows, the selection and its pending pairs commit together, survive a
 * restart, and are labeled and fitted like any; every refused call stores nothing (pool file
 * length, ListResponses, selections and pending pairs all unchanged).
 */
class RegisterSelectionRpcTest {
  private static final int DIM = 3;
  /** The labeled part the server holds: r0..r5. */
  private static final int HELD = 6;
  @TempDir Path dir;
  private TestServer server;

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private ActiveRewardModelingServiceBlockingStub stub() {
    return server.blocking();
  }

  /** Project "p" holding r0..r5 with three labels and a fitted model (version 1). */
  private void project(Limits limits) throws Exception {
    ServerConfig d = ServerConfig.defaults(dir);
    server = new TestServer(new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(),
        d.cacheBytes(), d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), d.security(), limits,
        d.metricsPort()));
    stub().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
    float[][] rows = new float[HELD][];
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < HELD; i++) {
      rows[i] = row(i);
      ids.add("r" + i);
      prompts.add("q" + (i % 3));
    }
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId("p").addAllResponseIds(ids)
        .addAllPromptIds(prompts).setEmbeddings(TestServer.matrix(rows)).build());
    label("r0", "r1", "r2", "r3", "r4", "r5");
    stub().fit(FitRequest.newBuilder().setProjectId("p").build());
  }

  private void project() throws Exception {
    project(Limits.DEFAULT);
  }

  /** Distinct, exactly representable rows (the new ones from 100 on). */
  private static float[] row(int i) {
    return new float[] {i * 0.5f - 1, (i % 4) * 0.25f, 1 - i * 0.125f};
  }

  /** Labels pairs (ids[0], ids[1]), (ids[2], ids[3]), ...: a wins. */
  private void label(String... ids) {
    AddComparisonsRequest.Builder b = AddComparisonsRequest.newBuilder().setProjectId("p");
    for (int i = 0; i < ids.length; i += 2) {
      b.addComparisons(Comparison.newBuilder().setAId(ids[i]).setBId(ids[i + 1]).setOutcome(Outcome.OUTCOME_A));
    }
    stub().addComparisons(b.build());
  }

  private static ResponseRows.Builder newRows(String... ids) {
    ResponseRows.Builder b = ResponseRows.newBuilder();
    float[][] rows = new float[ids.length][];
    for (int i = 0; i < ids.length; i++) {
      b.addResponseIds(ids[i]).addPromptIds("q-new");
      rows[i] = row(100 + i);
    }
    return b.setEmbeddings(TestServer.matrix(rows));
  }

  /** Pairs (n0, n1), (n2, r0), (n3, n1) with rows for n0..n3, for model version 1. */
  private static RegisterSelectionRequest.Builder request() {
    return RegisterSelectionRequest.newBuilder()
        .setProjectId("p")
        .setStrategy(Strategy.STRATEGY_DOPT)
        .setModelVersion(1)
        .addPairs(pair("n0", "n1", 3.0))
        .addPairs(pair("n2", "r0", 2.0))
        .addPairs(pair("n3", "n1", 1.0))
        .setNumCandidates(10)
        .setComputedOn("spark")
        .setNewResponses(newRows("n0", "n1", "n2", "n3"));
  }

  private static ScoredPair pair(String a, String b, double score) {
    return ScoredPair.newBuilder().setAId(a).setBId(b).setScore(score).build();
  }

  private Project info() {
    return stub().getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject();
  }

  private List<String> storedIds() {
    return stub().listResponses(ListResponsesRequest.newBuilder().setProjectId("p").build()).getResponseIdsList();
  }

  private long poolFileBytes() throws Exception {
    try (Stream<Path> files = Files.list(dir.resolve("pools"))) {
      return files.filter(f -> f.toString().endsWith(".f32")).mapToLong(f -> f.toFile().length()).sum();
    }
  }

  private int numSelections() {
    return stub().listSelections(ListSelectionsRequest.newBuilder().setProjectId("p").build()).getSelectionsCount();
  }

  /** What a refused call must leave exactly as it was. */
  private record Stored(long poolBytes, List<String> ids, int selections, long pending, long responses) {}

  private Stored stored() throws Exception {
    Project p = info();
    return new Stored(poolFileBytes(), storedIds(), numSelections(), p.getNumPendingPairs(), p.getNumResponses());
  }

  private StatusRuntimeException refused(RegisterSelectionRequest r) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> stub().registerSelection(r));
    assertThat(e).as("the call should have been refused").isNotNull();
    return e;
  }

  @Test
  void newRowsTheSelectionAndItsPendingPairsCommitTogetherAndSurviveARestart() throws Exception {
    project();
    Selection sel = stub().registerSelection(request().build()).getSelection();

    assertThat(sel.getComputedOn()).isEqualTo("spark");
    assertThat(sel.getPairsList()).extracting(ScoredPair::getState).containsOnly(PairState.PAIR_STATE_PENDING);
    for (int restart = 0; restart < 2; restart++) {
      Project p = info();
      assertThat(p.getNumResponses()).isEqualTo(HELD + 4);
      assertThat(p.getNumPendingPairs()).isEqualTo(3);
      assertThat(poolFileBytes()).isEqualTo((HELD + 4L) * DIM * Float.BYTES);
      ListResponsesResponse back = stub().listResponses(ListResponsesRequest.newBuilder().setProjectId("p")
          .addAllResponseIds(List.of("n0", "n1", "n2", "n3")).setIncludeEmbeddings(true).build());
      assertThat(back.getPromptIdsList()).containsOnly("q-new");
      float[][] rows = TestServer.rows(back.getEmbeddings());
      for (int i = 0; i < 4; i++) {
        assertThat(rows[i]).containsExactly(row(100 + i));
      }
      Selection again = stub().getSelection(GetSelectionRequest.newBuilder().setProjectId("p")
          .setSelectionId(sel.getSelectionId()).build()).getSelection();
      assertThat(again.getPairsList()).extracting(ScoredPair::getAId, ScoredPair::getBId, ScoredPair::getState)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("n0", "n1", PairState.PAIR_STATE_PENDING),
              org.assertj.core.groups.Tuple.tuple("n2", "r0", PairState.PAIR_STATE_PENDING),
              org.assertj.core.groups.Tuple.tuple("n3", "n1", PairState.PAIR_STATE_PENDING));
      server.restart();
    }

    // Labeled like any pending pair, then fitted on: n + B labels.
    label("n0", "n1", "n2", "r0", "n3", "n1");
    assertThat(info().getNumPendingPairs()).isZero();
    FitResponse fit = stub().fit(FitRequest.newBuilder().setProjectId("p").build());
    assertThat(fit.getModel().getVersion()).isEqualTo(2);
    assertThat(fit.getModel().getReport().getNumComparisons()).isEqualTo(3 + 3);
  }

  @Test
  void aHeldIdIsAcceptedWhenItsRowIsBitIdenticalAndNotStoredTwice() throws Exception {
    project();
    ResponseRows.Builder rows = newRows("n0", "n1", "n2", "n3");
    rows.addResponseIds("r0").addPromptIds("q0");
    float[][] all = TestServer.rows(rows.getEmbeddings());
    float[][] withHeld = java.util.Arrays.copyOf(all, 5);
    withHeld[4] = row(0);
    rows.setEmbeddings(TestServer.matrix(withHeld));

    stub().registerSelection(request().setNewResponses(rows).build());

    assertThat(info().getNumResponses()).isEqualTo(HELD + 4);
    assertThat(storedIds()).containsExactly("r0", "r1", "r2", "r3", "r4", "r5", "n0", "n1", "n2", "n3");
  }

  @Test
  void withoutNewRowsAnIdTheServerLacksIsNotFoundNamingIt() throws Exception {
    project();
    Stored before = stored();
    StatusRuntimeException e = refused(request().setNewResponses(newRows("n0", "n1", "n3")).build());
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("pairs[1].a_id").contains("'n2'").contains("new_responses");
    assertThat(stored()).isEqualTo(before);
  }

  /** Each bad input: the code, the field named, and nothing stored. */
  @Test
  void everyBadInputIsRefusedNamingTheProblemAndStoresNothing() throws Exception {
    project();
    stub().registerSelection(RegisterSelectionRequest.newBuilder().setProjectId("p").setModelVersion(1)
        .addPairs(pair("r0", "r2", 1)).setNumCandidates(1).setComputedOn("spark").build());
    Stored before = stored();
    assertThat(before.pending()).isEqualTo(1);

    record Case(String what, UnaryOperator<RegisterSelectionRequest.Builder> change, Status.Code code, String field) {}
    List<Case> cases = List.of(
        new Case("wrong width", b -> b.setNewResponses(newRows("n0", "n1", "n2", "n3")
            .setEmbeddings(TestServer.matrix(new float[4][DIM + 1]))), Status.Code.INVALID_ARGUMENT,
            "new_responses.embeddings.cols"),
        new Case("NaN", b -> b.setNewResponses(withValue(2, 1, Float.NaN)), Status.Code.INVALID_ARGUMENT,
            "new_responses.embeddings.data"),
        new Case("|x| > 1e6", b -> b.setNewResponses(withValue(3, 0, 2e6f)), Status.Code.INVALID_ARGUMENT,
            "new_responses.embeddings.data"),
        new Case("a repeated id", b -> b.setNewResponses(newRows("n0", "n1", "n2", "n3", "n1")),
            Status.Code.INVALID_ARGUMENT, "new_responses.response_ids[4]"),
        new Case("a prompt id missing", b -> b.setNewResponses(newRows("n0", "n1", "n2", "n3").clearPromptIds().addAllPromptIds(List.of("q-new", "q-new", "q-new"))),
            Status.Code.INVALID_ARGUMENT, "new_responses.prompt_ids"),
        new Case("a bad id", b -> b.addPairs(pair("n 4", "r1", 0.5)).setNewResponses(newRows("n0", "n1", "n2", "n3",
            "n 4")), Status.Code.INVALID_ARGUMENT, "new_responses.response_ids[4]"),
        new Case("a row no pair names", b -> b.setNewResponses(newRows("n0", "n1", "n2", "n3", "n9")),
            Status.Code.INVALID_ARGUMENT, "new_responses.response_ids[4]"),
        new Case("embedding rows != ids", b -> b.setNewResponses(newRows("n0", "n1", "n2", "n3")
            .setEmbeddings(TestServer.matrix(new float[3][DIM]))), Status.Code.INVALID_ARGUMENT,
            "new_responses.embeddings.rows"),
        new Case("a held id with another embedding", b -> b.setNewResponses(heldRowChanged()),
            Status.Code.INVALID_ARGUMENT, "new_responses.response_ids[4]"),
        new Case("a labeled pair", b -> b.addPairs(pair("r1", "r0", 0.5)), Status.Code.INVALID_ARGUMENT, "pairs[3]"),
        new Case("a pending pair", b -> b.addPairs(pair("r2", "r0", 0.5)), Status.Code.INVALID_ARGUMENT, "pairs[3]"),
        new Case("a pair twice", b -> b.addPairs(pair("n1", "n0", 0.5)), Status.Code.INVALID_ARGUMENT, "pairs[3]"),
        new Case("the model moved", b -> b.setModelVersion(2), Status.Code.FAILED_PRECONDITION, null));
    for (Case c : cases) {
      StatusRuntimeException e = refused(c.change().apply(request()).build());
      assertThat(e.getStatus().getCode()).as(c.what() + ": " + e.getStatus()).isEqualTo(c.code());
      assertThat(e.getStatus().getDescription()).as(c.what()).containsIgnoringCase("nothing was stored");
      if (c.field() != null) {
        assertThat(TestServer.violatedFields(e)).as(c.what() + ": " + e.getStatus().getDescription())
            .contains(c.field());
      }
      assertThat(stored()).as(c.what()).isEqualTo(before);
    }
    // The refusals left nothing behind: the same rows register afterwards.
    stub().registerSelection(request().build());
    assertThat(info().getNumResponses()).isEqualTo(HELD + 4);
    server.restart();
    assertThat(info().getNumResponses()).isEqualTo(HELD + 4);
    assertThat(info().getNumPendingPairs()).isEqualTo(4);
  }

  private static ResponseRows.Builder withValue(int row, int col, float value) {
    ResponseRows.Builder b = newRows("n0", "n1", "n2", "n3");
    float[][] rows = TestServer.rows(b.getEmbeddings());
    rows[row][col] = value;
    return b.setEmbeddings(TestServer.matrix(rows));
  }

  /** n0..n3 plus r0 whose last value differs from the stored row by one ulp. */
  private static ResponseRows.Builder heldRowChanged() {
    ResponseRows.Builder b = newRows("n0", "n1", "n2", "n3").addResponseIds("r0").addPromptIds("q0");
    float[][] rows = java.util.Arrays.copyOf(TestServer.rows(b.getEmbeddings()), 5);
    rows[4] = row(0);
    rows[4][2] = Math.nextUp(rows[4][2]);
    return b.setEmbeddings(TestServer.matrix(rows));
  }

  @Test
  void thePoolQuotaCountsTheNewRowsAndARefusalStoresNone() throws Exception {
    // Room for the six held rows and three more: the four new rows do not fit.
    project(new Limits(0, (HELD + 3L) * DIM * Float.BYTES, 0));
    Stored before = stored();
    StatusRuntimeException e = refused(request().build());
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.getStatus().getDescription()).contains("--max-pool-mib-per-project").contains("Nothing was stored");
    assertThat(stored()).isEqualTo(before);
    server.restart();
    assertThat(stored()).isEqualTo(before);
    // Three new rows fit.
    stub().registerSelection(request().clearPairs().addPairs(pair("n0", "n1", 1)).addPairs(pair("n2", "r0", 1))
        .setNewResponses(newRows("n0", "n1", "n2")).build());
    assertThat(info().getNumResponses()).isEqualTo(HELD + 3);
  }

  /**
   * A registration with rows takes the project's upload slot: with an AddResponses stream
   * open at the same time, whichever holds the slot commits first and the other follows; both
   * commit whole and every id keeps its own row (before and after a restart).
   */
  @Test
  void aRegistrationWithRowsAndAnOpenUploadBothCommitWhole() throws Exception {
    project();
    CompletableFuture<AddResponsesResponse> uploaded = new CompletableFuture<>();
    StreamObserver<AddResponsesRequest> upload = server.async().addResponses(new StreamObserver<>() {
      @Override
      public void onNext(AddResponsesResponse value) {
        uploaded.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        uploaded.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    float[][] up = {row(200), row(201)};
    upload.onNext(AddResponsesRequest.newBuilder().setProjectId("p").addAllResponseIds(List.of("u0", "u1"))
        .addAllPromptIds(List.of("qu", "qu")).setEmbeddings(TestServer.matrix(up)).build());
    CompletableFuture<Selection> registered = CompletableFuture.supplyAsync(
        () -> stub().registerSelection(request().build()).getSelection());
    upload.onCompleted();

    // Hang guards only (a deadlock would never answer), not speed checks.
    assertThat(uploaded.get(60, TimeUnit.SECONDS).getNumAdded()).isEqualTo(2);
    assertThat(registered.get(60, TimeUnit.SECONDS).getPairsCount()).isEqualTo(3);
    for (int restart = 0; restart < 2; restart++) {
      assertThat(info().getNumResponses()).isEqualTo(HELD + 2 + 4);
      assertThat(poolFileBytes()).isEqualTo((HELD + 6L) * DIM * Float.BYTES);
      ListResponsesResponse back = stub().listResponses(ListResponsesRequest.newBuilder().setProjectId("p")
          .addAllResponseIds(List.of("u0", "u1", "n0", "n1", "n2", "n3")).setIncludeEmbeddings(true).build());
      float[][] rows = TestServer.rows(back.getEmbeddings());
      assertThat(rows[0]).containsExactly(row(200));
      assertThat(rows[1]).containsExactly(row(201));
      for (int i = 0; i < 4; i++) {
        assertThat(rows[2 + i]).containsExactly(row(100 + i));
      }
      server.restart();
    }
  }

  @Test
  void exportAfterARegistrationCountsTheNewPairsAsPending() throws Exception {
    project();
    stub().registerSelection(request().build());
    var st = stub().exportSelectionState(ExportSelectionStateRequest.newBuilder().setProjectId("p").build());
    // Either orientation: the export lists a pair in its own order.
    assertThat(st.getPendingPairsList()).extracting(p -> java.util.Set.of(p.getAId(), p.getBId()))
        .containsExactlyInAnyOrder(java.util.Set.of("n0", "n1"), java.util.Set.of("n2", "r0"),
            java.util.Set.of("n3", "n1"));
  }
}
