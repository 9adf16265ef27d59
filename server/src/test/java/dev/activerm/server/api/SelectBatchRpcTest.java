package dev.activerm.server.api;

import com.google.protobuf.ByteString;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.ExplicitPairs;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.Matrix;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.proto.v1.PairState;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Selection;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.proto.v1.WithinPrompt;
import dev.activerm.server.TestServer;
import dev.activerm.server.api.observability.DomainMetrics;
import dev.activerm.server.core.ActiveRmCore;
import dev.activerm.server.core.model.LinearRewardModel;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.TestModels;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** SelectBatch / GetSelection in process: error codes and messages, durability, pending pairs. */
class SelectBatchRpcTest {
  private static final int DIM = 4;
  @TempDir Path dir;
  private SqliteStore store;
  private ProjectRegistry registry;
  private Server server;
  private ManagedChannel channel;
  private ActiveRewardModelingServiceBlockingStub stub;

  private void start() throws Exception {
    store = SqliteStore.open(dir);
    ActiveRmCore core = ActiveRmCore.open(
        store, new PoolFiles(dir), Clock.systemUTC(), dev.activerm.server.core.project.Limits.DEFAULT, 16 << 20);
    registry = core.projects();
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new ActiveRmGrpcService(core, DomainMetrics.detached())).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = ActiveRewardModelingServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      store.close();
      channel = null;
    }
  }

  private void restart() throws Exception {
    stop();
    start();
  }

  /** A project "p" with n responses r0..r{n-1}, prompts q{i % 3}. */
  private void project(int n) throws Exception {
    start();
    stub.createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
    Random r = new Random(1);
    ByteBuffer buf = ByteBuffer.allocate(n * DIM * 4).order(ByteOrder.LITTLE_ENDIAN);
    AddResponsesRequest.Builder req = AddResponsesRequest.newBuilder().setProjectId("p");
    for (int i = 0; i < n; i++) {
      req.addResponseIds("r" + i).addPromptIds("q" + (i % 3));
      for (int j = 0; j < DIM; j++) {
        buf.putFloat((float) r.nextGaussian());
      }
    }
    req.setEmbeddings(Matrix.newBuilder().setRows(n).setCols(DIM).setData(ByteString.copyFrom(buf.array())));
    CompletableFuture<AddResponsesResponse> done = new CompletableFuture<>();
    StreamObserver<AddResponsesRequest> up = ActiveRewardModelingServiceGrpc.newStub(channel).addResponses(
        new StreamObserver<>() {
          public void onNext(AddResponsesResponse v) {
            done.complete(v);
          }

          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          public void onCompleted() {}
        });
    up.onNext(req.build());
    up.onCompleted();
    assertThat(done.get(10, TimeUnit.SECONDS).getNumResponses()).isEqualTo(n);
  }

  private static SelectBatchRequest.Builder select(int batch, Strategy s) {
    return SelectBatchRequest.newBuilder().setProjectId("p").setBatchSize(batch).setStrategy(s).setSeed(5);
  }

  private StatusRuntimeException fails(SelectBatchRequest.Builder r) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> stub.selectBatch(r.build()));
  }

  @Test
  void modelBasedStrategiesBeforeFitAreFailedPreconditionNamingFit() throws Exception {
    project(6);
    for (Strategy s : new Strategy[] {Strategy.STRATEGY_UNSPECIFIED, Strategy.STRATEGY_DOPT, Strategy.STRATEGY_BALD,
        Strategy.STRATEGY_MAX_ENTROPY}) {
      StatusRuntimeException e = fails(select(2, s));
      assertThat(e.getStatus().getCode()).as("%s", s).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(e.getStatus().getDescription()).contains("call Fit first");
    }
  }

  @Test
  void errorPathsCarryCodeAndAFixingMessage() throws Exception {
    project(5);
    StatusRuntimeException big = fails(select(11, Strategy.STRATEGY_RANDOM));
    assertThat(big.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(big.getStatus().getDescription()).contains("batch_size 11", "10 candidate pairs");

    StatusRuntimeException unknown = fails(select(1, Strategy.STRATEGY_RANDOM).setCandidates(Candidates.newBuilder()
        .setExplicitPairs(ExplicitPairs.newBuilder().addPairs(ResponsePair.newBuilder().setAId("r0").setBId("nope")))));
    assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(unknown.getStatus().getDescription()).contains("'nope' is not a response");

    StatusRuntimeException strategy = fails(select(1, Strategy.STRATEGY_RANDOM).setStrategyValue(99));
    assertThat(strategy.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(strategy.getStatus().getDescription()).contains("STRATEGY_GREEDY_DOPT", "STRATEGY_BATCHBALD");

    StatusRuntimeException zero = fails(select(0, Strategy.STRATEGY_RANDOM));
    assertThat(zero.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(zero.getStatus().getDescription()).contains("batch_size");

    StatusRuntimeException missing = catchThrowableOfType(StatusRuntimeException.class, () -> stub.getSelection(
        GetSelectionRequest.newBuilder().setProjectId("p").setSelectionId("sel-9").build()));
    assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);

    StatusRuntimeException noProject = fails(select(1, Strategy.STRATEGY_RANDOM).setProjectId("other"));
    assertThat(noProject.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  private static Set<String> pairs(Selection s) {
    Set<String> out = new HashSet<>();
    for (ScoredPair p : s.getPairsList()) {
      out.add(p.getAId().compareTo(p.getBId()) < 0 ? p.getAId() + "|" + p.getBId() : p.getBId() + "|" + p.getAId());
    }
    return out;
  }

  @Test
  void selectionsAreDurablePendingAndResolvedByLabels() throws Exception {
    project(8); // 28 pairs
    Selection first = stub.selectBatch(select(10, Strategy.STRATEGY_OLS_DOPT).build()).getSelection();
    assertThat(first.getPairsCount()).isEqualTo(10);
    assertThat(first.getNumCandidates()).isEqualTo(28);
    assertThat(first.getModelVersion()).isZero();
    assertThat(stub.getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject()
        .getNumPendingPairs()).isEqualTo(10);

    // Pending pairs are excluded next time, unless asked for.
    Selection second = stub.selectBatch(select(18, Strategy.STRATEGY_RANDOM).build()).getSelection();
    assertThat(second.getNumCandidates()).isEqualTo(18);
    assertThat(pairs(second)).doesNotContainAnyElementsOf(pairs(first));
    Selection again = stub.selectBatch(select(10, Strategy.STRATEGY_OLS_DOPT).setIncludePending(true).build()).getSelection();
    assertThat(again.getPairsList()).isEqualTo(first.getPairsList());

    // Labeling a pending pair resolves it.
    ScoredPair p0 = first.getPairs(0);
    long resolved = stub.addComparisons(AddComparisonsRequest.newBuilder().setProjectId("p").addComparisons(
        Comparison.newBuilder().setAId(p0.getBId()).setBId(p0.getAId()).setOutcome(Outcome.OUTCOME_A)).build())
        .getNumPendingResolved();
    assertThat(resolved).isEqualTo(1);
    assertThat(stub.getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject()
        .getNumPendingPairs()).isEqualTo(27);

    restart();
    Selection back = stub.getSelection(GetSelectionRequest.newBuilder().setProjectId("p")
        .setSelectionId(first.getSelectionId()).build()).getSelection();
    // Same pairs and scores; only the labeled pair's state moved on.
    List<ScoredPair> expected = new ArrayList<>(first.getPairsList());
    expected.set(0, p0.toBuilder().setState(PairState.PAIR_STATE_LABELED).build());
    assertThat(back.getPairsList()).isEqualTo(expected);
    assertThat(back.getNumLabeled()).isEqualTo(1);
    assertThat(back.getNumPending()).isEqualTo(9);
    assertThat(back.getStrategy()).isEqualTo(Strategy.STRATEGY_OLS_DOPT);
    assertThat(back.getSeed()).isEqualTo(5);
    assertThat(back.getMaxCandidates()).isEqualTo(1_000_000);
    assertThat(stub.getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject()
        .getNumPendingPairs()).isEqualTo(27);
    // The labeled pair stays excluded, the pending ones too: 28 - 27 pending - 0 free = only 1 labeled-and-resolved.
    StatusRuntimeException none = fails(select(1, Strategy.STRATEGY_RANDOM));
    assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(none.getStatus().getDescription()).contains("0 candidate pairs");
  }

  @Test
  void everyStrategyRunsWithAModelOverEveryCandidateSource() throws Exception {
    project(12);
    TestModels.publish(registry, "p", new LinearRewardModel(1, new double[] {0.5, -0.2, 0.3, 0.1}));
    for (Strategy s : Strategy.values()) {
      if (s == Strategy.UNRECOGNIZED) {
        continue;
      }
      for (Candidates c : new Candidates[] {
          Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance()).build(),
          Candidates.newBuilder().setWithinPrompt(WithinPrompt.getDefaultInstance()).build()}) {
        Selection sel = stub.selectBatch(select(3, s).setCandidates(c).setIncludePending(true).build()).getSelection();
        assertThat(sel.getPairsCount()).as("%s %s", s, c.getSourceCase()).isEqualTo(3);
        assertThat(sel.getModelVersion()).isEqualTo(1);
        if (c.hasWithinPrompt()) {
          for (ScoredPair p : sel.getPairsList()) {
            int a = Integer.parseInt(p.getAId().substring(1));
            int b = Integer.parseInt(p.getBId().substring(1));
            assertThat(a % 3).isEqualTo(b % 3);
          }
        }
      }
    }
    StatusRuntimeException old = fails(select(1, Strategy.STRATEGY_DOPT).setModelVersion(2));
    assertThat(old.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }
  private static int row(String id) {
    return Integer.parseInt(id.substring(1));
  }

  private static Candidates cross(String... promptIds) {
    return Candidates.newBuilder().setCrossPrompt(CrossPrompt.newBuilder().addAllPromptIds(List.of(promptIds))).build();
  }

  private static Candidates within(String... promptIds) {
    return Candidates.newBuilder().setWithinPrompt(WithinPrompt.newBuilder().addAllPromptIds(List.of(promptIds)))
        .build();
  }

  @Test
  void promptIdsRestrictEveryStrategyToTheListedPrompts() throws Exception {
    project(12); // prompts q0 (r0 r3 r6 r9), q1, q2: 4 responses each
    TestModels.publish(registry, "p", new LinearRewardModel(1, new double[] {0.5, -0.2, 0.3, 0.1}));
    for (Strategy s : Strategy.values()) {
      if (s == Strategy.UNRECOGNIZED) {
        continue;
      }
      // q0 twice: duplicates are ignored.
      for (Candidates c : new Candidates[] {cross("q0", "q2", "q0"), within("q2", "q0", "q0")}) {
        Selection sel = stub.selectBatch(select(3, s).setCandidates(c).setIncludePending(true).build()).getSelection();
        String what = s + " " + c.getSourceCase();
        assertThat(sel.getPairsCount()).as(what).isEqualTo(3);
        assertThat(sel.getNumPrompts()).as(what).isEqualTo(2);
        // within: 2 prompts x 6 pairs; cross: any two of the 8 responses, 28 pairs.
        assertThat(sel.getNumCandidates()).as(what).isEqualTo(c.hasWithinPrompt() ? 12 : 28);
        for (ScoredPair p : sel.getPairsList()) {
          assertThat(row(p.getAId()) % 3).as(what).isIn(0, 2);
          assertThat(row(p.getBId()) % 3).as(what).isIn(0, 2);
          if (c.hasWithinPrompt()) {
            assertThat(row(p.getAId()) % 3).as(what).isEqualTo(row(p.getBId()) % 3);
          }
        }
      }
    }
  }

  @Test
  void promptRestrictionIsStoredAsACountAndEchoedByGetSelection() throws Exception {
    project(12);
    Selection restricted = stub.selectBatch(select(4, Strategy.STRATEGY_RANDOM).setCandidates(within("q1")).build())
        .getSelection();
    assertThat(restricted.getCandidateSource())
        .isEqualTo(dev.activerm.proto.v1.CandidateSource.CANDIDATE_SOURCE_WITHIN_PROMPT);
    assertThat(restricted.getNumPrompts()).isEqualTo(1);
    assertThat(restricted.getNumCandidates()).isEqualTo(6);
    Selection all = stub.selectBatch(select(2, Strategy.STRATEGY_RANDOM).build()).getSelection();
    assertThat(all.getNumPrompts()).isZero();
    // Stored compactly: the count, not the ids. Unrestricted records are as before the field existed.
    long key = store.loadProjects().get(0).key();
    java.util.Map<String, String> stored = new java.util.HashMap<>();
    store.loadSelections(key).forEach(r -> stored.put(r.selectionId(), r.parameters()));
    assertThat(stored.get(restricted.getSelectionId())).contains("num_prompts=1").doesNotContain("q1");
    assertThat(stored.get(all.getSelectionId())).doesNotContain("num_prompts");

    restart();
    for (Selection sel : List.of(restricted, all)) {
      Selection back = stub.getSelection(GetSelectionRequest.newBuilder().setProjectId("p")
          .setSelectionId(sel.getSelectionId()).build()).getSelection();
      assertThat(back.getNumPrompts()).isEqualTo(sel.getNumPrompts());
      assertThat(back.getCandidateSource()).isEqualTo(sel.getCandidateSource());
      assertThat(back.getPairsList()).isEqualTo(sel.getPairsList());
    }
    // Pairs of the other prompts are still free (but those the unrestricted selection chose are pending).
    long pendingInQ0Q2 = all.getPairsList().stream()
        .filter(p -> row(p.getAId()) % 3 == row(p.getBId()) % 3 && row(p.getAId()) % 3 != 1).count();
    assertThat(stub.selectBatch(select(1, Strategy.STRATEGY_RANDOM).setCandidates(within("q0", "q2")).build())
        .getSelection().getNumCandidates()).isEqualTo(12 - pendingInQ0Q2);
  }

  @Test
  void listingEveryPromptGivesTheUnrestrictedSelection() throws Exception {
    project(30);
    for (Candidates[] c : List.of(
        new Candidates[] {Candidates.getDefaultInstance(), cross("q2", "q0", "q1")},
        new Candidates[] {Candidates.newBuilder().setWithinPrompt(WithinPrompt.getDefaultInstance()).build(),
            within("q1", "q2", "q0")})) {
      // max_candidates 50 < 435 / 2 pairs: the seeded sampler, not enumeration.
      Selection unrestricted = stub.selectBatch(select(5, Strategy.STRATEGY_OLS_DOPT).setCandidates(c[0])
          .setMaxCandidates(50).setIncludePending(true).build()).getSelection();
      Selection listed = stub.selectBatch(select(5, Strategy.STRATEGY_OLS_DOPT).setCandidates(c[1])
          .setMaxCandidates(50).setIncludePending(true).build()).getSelection();
      assertThat(listed.getPairsList()).isEqualTo(unrestricted.getPairsList());
      assertThat(listed.getNumCandidates()).isEqualTo(unrestricted.getNumCandidates());
      assertThat(unrestricted.getNumPrompts()).isZero();
      assertThat(listed.getNumPrompts()).isEqualTo(3);
    }
  }

  @Test
  void unknownPromptIdsAreNotFoundNamingEachField() throws Exception {
    project(6);
    StatusRuntimeException cross =
        fails(select(1, Strategy.STRATEGY_RANDOM).setCandidates(cross("q0", "nope", "q1", "")));
    assertThat(cross.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(TestServer.violatedFields(cross))
        .containsExactly("candidates.cross_prompt.prompt_ids[1]", "candidates.cross_prompt.prompt_ids[3]");
    assertThat(cross.getStatus().getDescription()).contains("'nope'", "AddResponses", "leave them out");

    StatusRuntimeException within = fails(select(1, Strategy.STRATEGY_RANDOM).setCandidates(within("r0")));
    assertThat(within.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(TestServer.violatedFields(within)).containsExactly("candidates.within_prompt.prompt_ids[0]");
    assertThat(within.getStatus().getDescription()).contains("'r0' is the prompt of no response in project 'p'");
    assertThat(stub.getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject()
        .getNumPendingPairs()).isZero();
  }

  @Test
  void tooManyPromptIdsAndTooSmallARestrictionAreInvalidArgument() throws Exception {
    project(6);
    List<String> many = new ArrayList<>(Collections.nCopies(1_000_001, "q0"));
    StatusRuntimeException big = fails(select(1, Strategy.STRATEGY_RANDOM).setCandidates(
        Candidates.newBuilder().setWithinPrompt(WithinPrompt.newBuilder().addAllPromptIds(many))));
    assertThat(big.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(TestServer.violatedFields(big)).containsExactly("candidates.within_prompt.prompt_ids");
    assertThat(big.getStatus().getDescription()).contains("1000001 prompt ids", "0..1000000");

    // q0 has r0 and r3: one pair within, one pair across too (only two responses are allowed).
    for (Candidates c : new Candidates[] {within("q0"), cross("q0")}) {
      StatusRuntimeException small = fails(select(2, Strategy.STRATEGY_RANDOM).setCandidates(c));
      assertThat(small.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(small.getStatus().getDescription()).contains("batch_size 2", "1 candidate pairs", "of 1 prompts");
    }
  }
}
