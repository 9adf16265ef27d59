package dev.activerm.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Duration;
import com.google.rpc.BadRequest;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddComparisonsResponse;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.DeleteComparisonsRequest;
import dev.activerm.proto.v1.DeleteComparisonsResponse;
import dev.activerm.proto.v1.ExplicitPairs;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.ListComparisonsRequest;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import dev.activerm.proto.v1.ListSelectionsRequest;
import dev.activerm.proto.v1.ListSelectionsResponse;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.PairState;
import dev.activerm.proto.v1.ReleasePairsRequest;
import dev.activerm.proto.v1.ReleasePairsResponse;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.RetireResponsesRequest;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Selection;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.server.MutableClock;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The labeling lifecycle over gRPC: comparison ids, deletes, released and expiring pairs, retired responses. */
class LabelingLifecycleRpcTest {
  private static final int DIM = 3;
  @TempDir Path dir;
  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
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

  /** Project "p" with responses r0..r{n-1}, prompts q{i % 2}, seeded random embeddings. */
  private void project(int n, CreateProjectRequest.Builder create) throws Exception {
    server = new TestServer(ServerConfig.defaults(dir), clock);
    stub().createProject(create.setProjectId("p").setEmbeddingDim(DIM).build());
    Random r = new Random(3);
    float[][] rows = new float[n][DIM];
    AddResponsesRequest.Builder req = AddResponsesRequest.newBuilder().setProjectId("p");
    for (int i = 0; i < n; i++) {
      req.addResponseIds("r" + i).addPromptIds("q" + (i % 2));
      for (int j = 0; j < DIM; j++) {
        rows[i][j] = (float) r.nextGaussian();
      }
    }
    TestServer.upload(server.async(), req.setEmbeddings(TestServer.matrix(rows)).build());
  }

  private void project(int n) throws Exception {
    project(n, CreateProjectRequest.newBuilder());
  }

  private static Comparison cmp(String id, String a, String b, Outcome o, String who) {
    return Comparison.newBuilder().setComparisonId(id).setAId(a).setBId(b).setOutcome(o).setAnnotatorId(who).build();
  }

  private AddComparisonsResponse add(Comparison... cs) {
    return stub().addComparisons(AddComparisonsRequest.newBuilder().setProjectId("p").addAllComparisons(List.of(cs))
        .build());
  }

  private static StatusRuntimeException fails(Supplier<?> call) {
    return catchThrowableOfType(StatusRuntimeException.class, call::get);
  }

  private static Map<String, String> violations(StatusRuntimeException e) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    for (com.google.protobuf.Any d : StatusProto.fromThrowable(e).getDetailsList()) {
      if (d.is(BadRequest.class)) {
        d.unpack(BadRequest.class).getFieldViolationsList().forEach(v -> out.put(v.getField(), v.getDescription()));
      }
    }
    return out;
  }

  private List<String> storedIds() {
    List<String> out = new ArrayList<>();
    stub().listComparisons(ListComparisonsRequest.newBuilder().setProjectId("p").build()).getComparisonsList()
        .forEach(c -> out.add(c.getComparisonId()));
    return out;
  }

  private long pending() {
    return stub().getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject()
        .getNumPendingPairs();
  }

  private Selection select(SelectBatchRequest.Builder r) {
    return stub().selectBatch(r.setProjectId("p").build()).getSelection();
  }

  private static SelectBatchRequest.Builder random(int batch) {
    return SelectBatchRequest.newBuilder().setBatchSize(batch).setStrategy(Strategy.STRATEGY_RANDOM).setSeed(7);
  }

  private Selection get(String selectionId) {
    return stub().getSelection(GetSelectionRequest.newBuilder().setProjectId("p").setSelectionId(selectionId).build())
        .getSelection();
  }

  private static Set<String> keys(Selection s) {
    Set<String> out = new HashSet<>();
    s.getPairsList().forEach(p -> out.add(key(p.getAId(), p.getBId())));
    return out;
  }

  private static String key(String a, String b) {
    return a.compareTo(b) < 0 ? a + "|" + b : b + "|" + a;
  }

  private static List<String> pairsAndScores(Selection s) {
    List<String> out = new ArrayList<>();
    s.getPairsList().forEach(p -> out.add(p.getAId() + ">" + p.getBId() + "@" + p.getScore()));
    return out;
  }

  @Test
  void aRetriedAddComparisonsNeverDoubleCountsAndOtherContentIsAlreadyExists() throws Exception {
    project(4);
    AddComparisonsResponse first = add(cmp("x", "r0", "r1", Outcome.OUTCOME_A, "ann"),
        cmp("", "r1", "r2", Outcome.OUTCOME_B, ""));
    assertThat(first.getNumAdded()).isEqualTo(2);
    assertThat(first.getComparisonIdsList()).containsExactly("x", "c-1");

    // The same call again (a retry after a lost answer): nothing is stored twice.
    AddComparisonsResponse retry = add(cmp("x", "r0", "r1", Outcome.OUTCOME_A, "ann"),
        cmp("c-1", "r1", "r2", Outcome.OUTCOME_B, ""));
    assertThat(retry.getNumAdded()).isZero();
    assertThat(retry.getNumUnchanged()).isEqualTo(2);
    assertThat(retry.getNumComparisons()).isEqualTo(2);
    assertThat(retry.getComparisonIdsList()).containsExactly("x", "c-1");

    // A client id that looks like a server id: the server's next id steps around it.
    AddComparisonsResponse around = add(cmp("c-2", "r0", "r2", Outcome.OUTCOME_TIE, ""),
        cmp("", "r0", "r3", Outcome.OUTCOME_TIE, ""));
    assertThat(around.getComparisonIdsList()).containsExactly("c-2", "c-3");

    StatusRuntimeException other = fails(() -> add(cmp("x", "r0", "r1", Outcome.OUTCOME_B, "ann"),
        cmp("new", "r2", "r3", Outcome.OUTCOME_A, "")));
    assertThat(other.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(other.getStatus().getDescription()).contains("Nothing was stored");
    assertThat(violations(other)).containsExactly(Map.entry("comparisons[0].comparison_id",
        "'x' is stored with outcome OUTCOME_A; this call says OUTCOME_B"));

    StatusRuntimeException twice = fails(() -> add(cmp("y", "r0", "r1", Outcome.OUTCOME_A, ""),
        cmp("y", "r2", "r3", Outcome.OUTCOME_A, "")));
    assertThat(twice.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(violations(twice)).containsKey("comparisons[1].comparison_id");
    assertThat(storedIds()).containsExactly("x", "c-1", "c-2", "c-3");
  }

  @Test
  void deletesByIdAndByAnnotatorAreAtomicDurableAndTheNextFitUsesWhatRemains() throws Exception {
    project(5);
    add(cmp("k1", "r0", "r1", Outcome.OUTCOME_A, "good"), cmp("k2", "r1", "r2", Outcome.OUTCOME_A, "bad"),
        cmp("k3", "r2", "r3", Outcome.OUTCOME_B, "bad"), cmp("k4", "r3", "r4", Outcome.OUTCOME_A, "good"));

    StatusRuntimeException unknown = fails(() -> stub().deleteComparisons(DeleteComparisonsRequest.newBuilder()
        .setProjectId("p").addComparisonIds("k1").addComparisonIds("nope").build()));
    assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(violations(unknown)).containsOnlyKeys("comparison_ids[1]");
    StatusRuntimeException both = fails(() -> stub().deleteComparisons(DeleteComparisonsRequest.newBuilder()
        .setProjectId("p").addComparisonIds("k1").setAnnotatorId("bad").build()));
    assertThat(both.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(storedIds()).containsExactly("k1", "k2", "k3", "k4");

    assertThat(stub().listComparisons(ListComparisonsRequest.newBuilder().setProjectId("p").setAnnotatorId("bad")
        .build()).getComparisonsList()).extracting(Comparison::getComparisonId).containsExactly("k2", "k3");
    DeleteComparisonsResponse byAnnotator = stub().deleteComparisons(
        DeleteComparisonsRequest.newBuilder().setProjectId("p").setAnnotatorId("bad").build());
    assertThat(byAnnotator.getNumDeleted()).isEqualTo(2);
    assertThat(byAnnotator.getNumComparisons()).isEqualTo(2);
    DeleteComparisonsResponse byId = stub().deleteComparisons(DeleteComparisonsRequest.newBuilder()
        .setProjectId("p").addComparisonIds("k4").addComparisonIds("k2").build());
    assertThat(byId.getNumDeleted()).isEqualTo(1);
    assertThat(byId.getNumAlreadyDeleted()).isEqualTo(1);

    server.restart();
    assertThat(storedIds()).containsExactly("k1");
    // Replaying a deleted label (a re-import) does not bring it back; a new id is new.
    AddComparisonsResponse replay = add(cmp("k2", "r1", "r2", Outcome.OUTCOME_A, "bad"),
        cmp("", "r0", "r4", Outcome.OUTCOME_A, ""));
    assertThat(replay.getNumDeletedBefore()).isEqualTo(1);
    assertThat(replay.getNumAdded()).isEqualTo(1);
    assertThat(replay.getComparisonIdsList()).containsExactly("k2", "c-4");
    assertThat(stub().fit(FitRequest.newBuilder().setProjectId("p").build()).getModel().getReport()
        .getNumComparisons()).isEqualTo(2);
  }

  @Test
  void aDeleteAndAnAddThatKeepTheCountStillChangeTheCandidates() throws Exception {
    project(3); // pairs r0|r1, r0|r2, r1|r2
    add(cmp("ab", "r0", "r1", Outcome.OUTCOME_A, ""));
    assertThat(select(random(2).setIncludePending(true)).getNumCandidates()).isEqualTo(2);
    stub().deleteComparisons(DeleteComparisonsRequest.newBuilder().setProjectId("p").addComparisonIds("ab").build());
    add(cmp("ac", "r0", "r2", Outcome.OUTCOME_A, ""));
    // Still one comparison, but another one: r0|r1 is a candidate again and r0|r2 is not.
    Selection s = select(random(2).setIncludePending(true));
    assertThat(keys(s)).containsExactlyInAnyOrder("r0|r1", "r1|r2");
  }

  @Test
  void releasedPairsAreCandidatesAgainCarryNoInformationAndCanStillBeLabeled() throws Exception {
    project(8);
    add(cmp("", "r0", "r1", Outcome.OUTCOME_A, ""), cmp("", "r2", "r3", Outcome.OUTCOME_B, ""),
        cmp("", "r4", "r5", Outcome.OUTCOME_A, ""));
    stub().fit(FitRequest.newBuilder().setProjectId("p").build());
    SelectBatchRequest.Builder greedy = SelectBatchRequest.newBuilder().setBatchSize(3)
        .setStrategy(Strategy.STRATEGY_GREEDY_DOPT).setSeed(1).setIncludePending(true);
    Selection a = select(greedy.clone());
    // While a's pairs are pending they count as information: the same request picks otherwise.
    Selection whilePending = select(greedy.clone());
    assertThat(pairsAndScores(whilePending)).isNotEqualTo(pairsAndScores(a));
    assertThat(pending()).isEqualTo(keys(a).size() + keys(whilePending).stream().filter(k -> !keys(a).contains(k))
        .count());

    ScoredPair p0 = a.getPairs(0);
    ReleasePairsResponse one = stub().releasePairs(ReleasePairsRequest.newBuilder().setProjectId("p")
        .setSelectionId(a.getSelectionId())
        .addPairs(ResponsePair.newBuilder().setAId(p0.getBId()).setBId(p0.getAId())).build());
    assertThat(one.getNumReleased()).isEqualTo(1);
    StatusRuntimeException notIn = fails(() -> stub().releasePairs(ReleasePairsRequest.newBuilder().setProjectId("p")
        .setSelectionId(a.getSelectionId()).addPairs(ResponsePair.newBuilder().setAId("r0").setBId("r1")).build()));
    assertThat(notIn.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(violations(notIn)).containsOnlyKeys("pairs[0]");

    // Release everything: the state is as before a, so the same request picks exactly a again.
    for (Selection s : List.of(a, whilePending)) {
      stub().releasePairs(ReleasePairsRequest.newBuilder().setProjectId("p").setSelectionId(s.getSelectionId())
          .build());
    }
    assertThat(pending()).isZero();
    Selection again = select(greedy.clone());
    assertThat(pairsAndScores(again)).isEqualTo(pairsAndScores(a));

    // Durable: after a restart a's pairs are still released, not pending; a late label is accepted.
    server.restart();
    Selection back = get(a.getSelectionId());
    assertThat(back.getNumReleased()).isEqualTo(3);
    assertThat(back.getPairsList()).extracting(ScoredPair::getState).containsOnly(PairState.PAIR_STATE_RELEASED);
    assertThat(pending()).isEqualTo(3); // again's pairs
    AddComparisonsResponse late = add(cmp("", p0.getAId(), p0.getBId(), Outcome.OUTCOME_A, ""));
    assertThat(late.getNumAdded()).isEqualTo(1);
    Selection labeled = get(a.getSelectionId());
    assertThat(labeled.getPairs(0).getState()).isEqualTo(PairState.PAIR_STATE_LABELED);
    assertThat(labeled.getNumLabeled()).isEqualTo(1);
  }

  @Test
  void pendingPairsExpireAfterTheirTtlByTheServerClockAndStayExpiredAfterARestart() throws Exception {
    project(6, CreateProjectRequest.newBuilder().setPendingTtl(Duration.newBuilder().setSeconds(60)));
    assertThat(stub().getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject()
        .getPendingTtl().getSeconds()).isEqualTo(60);
    Selection byDefault = select(random(2));
    assertThat(byDefault.getExpireTime().getSeconds())
        .isEqualTo(Instant.parse("2026-01-01T00:01:00Z").getEpochSecond());
    Selection longer = select(random(2).setPendingTtl(Duration.newBuilder().setSeconds(600)));
    assertThat(longer.getPendingTtl().getSeconds()).isEqualTo(600);
    assertThat(pending()).isEqualTo(4);

    clock.advance(java.time.Duration.ofSeconds(59));
    assertThat(pending()).isEqualTo(4);
    clock.advance(java.time.Duration.ofSeconds(2));
    assertThat(pending()).isEqualTo(2);
    assertThat(get(byDefault.getSelectionId()).getNumReleased()).isEqualTo(2);
    // Expired pairs are candidates again: 15 pairs - 2 still pending.
    assertThat(select(random(1)).getNumCandidates()).isEqualTo(13);

    server.restart();
    assertThat(pending()).isEqualTo(3);
    assertThat(get(byDefault.getSelectionId()).getNumPending()).isZero();
    clock.advance(java.time.Duration.ofSeconds(600));
    assertThat(pending()).isZero();

    StatusRuntimeException negative = fails(() -> select(random(1).setPendingTtl(Duration.newBuilder()
        .setSeconds(-1))));
    assertThat(negative.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(violations(negative)).containsOnlyKeys("pending_ttl");
  }

  @Test
  void retiredResponsesAreNeverCandidatesButKeepTheirLabelsAndScores() throws Exception {
    project(5);
    add(cmp("", "r0", "r1", Outcome.OUTCOME_A, ""));
    stub().fit(FitRequest.newBuilder().setProjectId("p").build());
    StatusRuntimeException unknown = fails(() -> stub().retireResponses(RetireResponsesRequest.newBuilder()
        .setProjectId("p").addResponseIds("r0").addResponseIds("ghost").build()));
    assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(violations(unknown)).containsOnlyKeys("response_ids[1]");

    assertThat(stub().retireResponses(RetireResponsesRequest.newBuilder().setProjectId("p").addResponseIds("r0")
        .addResponseIds("r4").build()).getNumRetired()).isEqualTo(2);
    server.restart();
    assertThat(stub().retireResponses(RetireResponsesRequest.newBuilder().setProjectId("p").addResponseIds("r0")
        .build()).getNumAlreadyRetired()).isEqualTo(1);

    // Cross-prompt: only r1, r2, r3 remain: 3 pairs. Within-prompt (q0: r0 r2 r4, q1: r1 r3): only r1|r3.
    assertThat(select(random(1).setIncludePending(true)).getNumCandidates()).isEqualTo(3);
    assertThat(select(random(1).setIncludePending(true).setCandidates(Candidates.newBuilder()
        .setWithinPrompt(dev.activerm.proto.v1.WithinPrompt.getDefaultInstance()))).getNumCandidates()).isEqualTo(1);
    // Explicit pairs naming a retired response are left out like labeled ones.
    Selection explicit = select(random(1).setIncludePending(true).setCandidates(Candidates.newBuilder()
        .setExplicitPairs(ExplicitPairs.newBuilder()
            .addPairs(ResponsePair.newBuilder().setAId("r0").setBId("r2"))
            .addPairs(ResponsePair.newBuilder().setAId("r2").setBId("r3")))));
    assertThat(keys(explicit)).containsExactly("r2|r3");
    assertThat(explicit.getNumCandidates()).isEqualTo(1);

    ListResponsesResponse all = stub().listResponses(ListResponsesRequest.newBuilder().setProjectId("p").build());
    assertThat(all.getRetiredList()).containsExactly(true, false, false, false, true);
    ListResponsesResponse live = stub().listResponses(ListResponsesRequest.newBuilder().setProjectId("p")
        .setExcludeRetired(true).setPageSize(2).build());
    assertThat(live.getResponseIdsList()).containsExactly("r1", "r2");
    assertThat(stub().listResponses(ListResponsesRequest.newBuilder().setProjectId("p").setExcludeRetired(true)
        .setPageToken(live.getNextPageToken()).build()).getResponseIdsList()).containsExactly("r3");
    assertThat(stub().listComparisons(ListComparisonsRequest.newBuilder().setProjectId("p").build())
        .getComparisonsCount()).isEqualTo(1);
    assertThat(stub().score(ScoreRequest.newBuilder().setProjectId("p").setResponseIds(
        dev.activerm.proto.v1.ResponseIds.newBuilder().addIds("r0")).build()).getRewardsCount()).isEqualTo(1);
  }

  @Test
  void listSelectionsPagesNewestFirstWithCounts() throws Exception {
    project(6);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(select(random(2)).getSelectionId());
    }
    Selection first = get(ids.get(0));
    add(cmp("", first.getPairs(0).getAId(), first.getPairs(0).getBId(), Outcome.OUTCOME_A, ""));
    stub().releasePairs(ReleasePairsRequest.newBuilder().setProjectId("p").setSelectionId(ids.get(0)).build());

    ListSelectionsResponse page1 = stub().listSelections(
        ListSelectionsRequest.newBuilder().setProjectId("p").setPageSize(2).build());
    assertThat(page1.getSelectionsList()).extracting(Selection::getSelectionId)
        .containsExactly(ids.get(2), ids.get(1));
    assertThat(page1.getSelections(0).getPairsCount()).isZero();
    assertThat(page1.getSelections(0).getNumPending()).isEqualTo(2);
    ListSelectionsResponse page2 = stub().listSelections(ListSelectionsRequest.newBuilder().setProjectId("p")
        .setPageSize(2).setIncludePairs(true).setPageToken(page1.getNextPageToken()).build());
    assertThat(page2.getNextPageToken()).isEmpty();
    Selection oldest = page2.getSelections(0);
    assertThat(oldest.getSelectionId()).isEqualTo(ids.get(0));
    assertThat(List.of(oldest.getNumLabeled(), oldest.getNumPending(), oldest.getNumReleased()))
        .containsExactly(1L, 0L, 1L);
    assertThat(oldest.getPairsCount()).isEqualTo(2);
  }
}
