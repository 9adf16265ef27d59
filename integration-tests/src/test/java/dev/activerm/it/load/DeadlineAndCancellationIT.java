package dev.activerm.it.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.ActiveRmException;
import dev.activerm.client.FitOptions;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.ProjectInfo;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import dev.activerm.it.ServerProcess;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Long Fit and SelectBatch calls against the packaged server whose caller gives up: a short
 * client deadline ends in DEADLINE_EXCEEDED, a client cancellation in CANCELLED; either way
 * the server logs that it stopped the work, stores nothing (no model version, no selection,
 * no pending pairs), stays SERVING, and the next call on the same project succeeds.
 *
 * <p>The long calls are sized to take many minutes (100 000 MLP epochs; GREEDY_DOPT and
 * BATCHBALD batches of thousands of picks), so the follow-up call, which needs the same
 * project's fit lock or write lock, could not succeed within its deadline if the server had
 * kept working. Nothing here asserts how fast anything is; the short deadlines (3 s, 4 s)
 * only need to be long enough for the call to reach the server on a loaded machine.
 */
@Timeout(240)
class DeadlineAndCancellationIT {
  static final int MLP_DIM = 32;
  static final int SEL_DIM = 32;

  @TempDir static Path dataDir;
  static ServerProcess server;
  static ActiveRmClient client;

  @BeforeAll
  static void start() throws Exception {
    server = ServerProcess.start(dataDir);
    client = ActiveRmClient.builder().target(server.target()).deadline(Duration.ofSeconds(60)).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  static ActiveRmClient withDeadline(Duration deadline) {
    return ActiveRmClient.builder().target(server.target()).deadline(deadline).build();
  }

  /** An MLP project with 1000 comparisons and a first model (version 1). */
  static void mlpProject(String id) {
    LoadData data = new LoadData(400, MLP_DIM, 40, id.hashCode());
    client.createProject(id, MLP_DIM, Head.MLP, List.of(128, 128), 1.0);
    data.upload(client, id);
    client.addComparisons(id, data.comparisons(1000, 1, "seed"));
    assertThat(client.fit(id, quickMlp()).version()).isEqualTo(1);
  }

  /** A LINEAR project over 4000 responses (8 million possible pairs) with a first model. */
  static void selectionProject(String id) {
    LoadData data = new LoadData(4000, SEL_DIM, 100, id.hashCode());
    client.createProject(id, SEL_DIM, Head.LINEAR, 1.0);
    data.upload(client, id);
    client.addComparisons(id, data.comparisons(50, 2, "seed"));
    assertThat(client.fit(id, FitOptions.defaults()).version()).isEqualTo(1);
  }

  static FitOptions quickMlp() {
    return new FitOptions(false, 1, 0, 0, 0, 1, 64, 0, 0, 0);
  }

  static FitOptions endlessMlp() {
    return new FitOptions(false, 1, 0, 0, 0, 100_000, 32, 0, 0, 0);
  }

  static SelectOptions endlessGreedy() {
    return SelectOptions.of(100_000, Strategy.GREEDY_DOPT).withMaxCandidates(3_000_000);
  }

  static SelectOptions endlessBatchBald() {
    return SelectOptions.of(5_000, Strategy.BATCHBALD).withMaxCandidates(200_000);
  }

  /** Waits (bounded) for a server log line after index from containing every fragment. */
  static String awaitLog(int from, String... fragments) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < until) {
      List<String> log = server.log();
      for (int i = from; i < log.size(); i++) {
        String line = log.get(i);
        if (List.of(fragments).stream().allMatch(line::contains)) {
          return line;
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no server log line with " + List.of(fragments) + " after line " + from + ":\n"
        + String.join("\n", server.log().subList(from, server.log().size())));
  }

  static void assertServing() {
    ManagedChannel channel = Grpc.newChannelBuilder(server.target(), InsecureChannelCredentials.create()).build();
    try {
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
      for (String service : List.of("", "activerm.v1.ActiveRewardModelingService")) {
        assertThat(health.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus())
            .as("health of '%s'", service).isEqualTo(ServingStatus.SERVING);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /**
   * Starts call in a cancellable context on its own thread, waits until the server logs
   * startedFragments, cancels, and returns the status code the client saw.
   */
  static Status.Code cancelOnceStarted(Supplier<?> call, String... startedFragments) throws Exception {
    int mark = server.log().size();
    Context.CancellableContext context = Context.current().withCancellation();
    CompletableFuture<Object> result = new CompletableFuture<>();
    Thread caller = new Thread(() -> context.run(() -> {
      try {
        result.complete(call.get());
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    }), "cancelled-caller");
    caller.start();
    try {
      awaitLog(mark, startedFragments);
    } finally {
      context.cancel(null);
    }
    ExecutionException e = catchThrowableOfType(ExecutionException.class, () -> result.get(60, TimeUnit.SECONDS));
    caller.join(10_000);
    assertThat(e).as("the cancelled call must fail").isNotNull();
    assertThat(e.getCause()).isInstanceOf(ActiveRmException.class);
    return ((ActiveRmException) e.getCause()).code();
  }

  @Test
  void fitPastItsDeadlineStopsOnTheServerAndStoresNoVersion() throws Exception {
    mlpProject("fit-deadline");
    int mark = server.log().size();
    ActiveRmException e;
    try (ActiveRmClient impatient = withDeadline(Duration.ofSeconds(3))) {
      e = catchThrowableOfType(ActiveRmException.class, () -> impatient.fit("fit-deadline", endlessMlp()));
    }
    assertThat(e).isNotNull();
    assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(awaitLog(mark, "project 'fit-deadline'", "Fit cancelled by the caller during"))
        .contains("nothing stored");
    assertServing();
    assertThat(client.getProject("fit-deadline").latestModelVersion()).isEqualTo(1);
    assertThat(client.fit("fit-deadline", quickMlp()).version()).isEqualTo(2);
  }

  @Test
  void cancelledFitStopsOnTheServerAndStoresNoVersion() throws Exception {
    mlpProject("fit-cancel");
    int mark = server.log().size();
    Status.Code code = cancelOnceStarted(
        () -> client.fit("fit-cancel", endlessMlp()), "project 'fit-cancel': Fit started (MLP");
    assertThat(code).isEqualTo(Status.Code.CANCELLED);
    assertThat(awaitLog(mark, "project 'fit-cancel'", "Fit cancelled by the caller during MLP epoch"))
        .contains("nothing stored");
    assertServing();
    assertThat(client.getProject("fit-cancel").latestModelVersion()).isEqualTo(1);
    assertThat(client.fit("fit-cancel", quickMlp()).version()).isEqualTo(2);
  }

  @Test
  void selectBatchPastItsDeadlineStopsOnTheServerAndStoresNoSelection() throws Exception {
    selectionProject("sel-deadline");
    int mark = server.log().size();
    ActiveRmException e;
    try (ActiveRmClient impatient = withDeadline(Duration.ofSeconds(4))) {
      e = catchThrowableOfType(ActiveRmException.class, () -> impatient.selectBatch("sel-deadline", endlessGreedy()));
    }
    assertThat(e).isNotNull();
    assertThat(e.code()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(awaitLog(mark, "project 'sel-deadline'", "selection cancelled by the caller during"))
        .contains("GREEDY_DOPT").contains("nothing stored");
    assertServing();
    assertNothingSelectedThenASelectionWorks("sel-deadline");
  }

  @Test
  void cancelledSelectBatchStopsOnTheServerAndStoresNoSelection() throws Exception {
    selectionProject("sel-cancel");
    int mark = server.log().size();
    Status.Code code = cancelOnceStarted(() -> client.selectBatch("sel-cancel", endlessBatchBald()),
        "project 'sel-cancel': SelectBatch started (BATCHBALD");
    assertThat(code).isEqualTo(Status.Code.CANCELLED);
    assertThat(awaitLog(mark, "project 'sel-cancel'", "selection cancelled by the caller during"))
        .contains("BATCHBALD").contains("nothing stored");
    assertServing();
    assertNothingSelectedThenASelectionWorks("sel-cancel");
  }

  /** No pending pairs, the selection id sequence untouched, and the project's locks free. */
  static void assertNothingSelectedThenASelectionWorks(String project) {
    ProjectInfo info = client.getProject(project);
    assertThat(info.numPendingPairs()).isZero();
    ActiveRmException missing = catchThrowableOfType(ActiveRmException.class,
        () -> client.getSelection(project, "sel-1"));
    assertThat(missing).isNotNull();
    assertThat(missing.code()).isEqualTo(Status.Code.NOT_FOUND);
    // AddComparisons needs the write lock the cancelled selection held as a reader.
    LoadData data = new LoadData(4000, SEL_DIM, 100, project.hashCode());
    assertThat(client.addComparisons(project, data.comparisons(3, 9, "after")).numComparisons()).isEqualTo(53);
    Selection next = client.selectBatch(project, SelectOptions.of(5, Strategy.GREEDY_DOPT).withMaxCandidates(10_000));
    assertThat(next.selectionId()).isEqualTo("sel-1");
    assertThat(next.pairs()).hasSize(5);
    assertThat(client.getProject(project).numPendingPairs()).isEqualTo(5);
  }
}
