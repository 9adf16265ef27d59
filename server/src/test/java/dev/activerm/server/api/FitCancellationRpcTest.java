package dev.activerm.server.api;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.MlpFitOptions;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.server.TestServer;
import dev.activerm.server.core.fit.Fitting;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * A Fit whose caller gives up (deadline or cancellation) stops training on the server, stores
 * no version, and leaves the project's fit lock free for the next Fit. The long fit asks for
 * 100 000 epochs (minutes of work); the follow-up Fit has the usual 30 s deadline, so if the
 * server kept training, the follow-up would wait behind it and fail.
 */
@Timeout(120)
class FitCancellationRpcTest {
  static final int DIM = 8;
  static final int ROWS = 60;

  @TempDir Path dataDir;
  TestServer server;
  ListAppender<ILoggingEvent> logs;
  Logger modelingLog;

  @BeforeEach
  void start() throws Exception {
    modelingLog = (Logger) LoggerFactory.getLogger(Fitting.class);
    logs = new ListAppender<>();
    logs.start();
    modelingLog.addAppender(logs);
    server = new TestServer(dataDir);
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("mlp").setEmbeddingDim(DIM)
        .setHead(HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_MLP).addHiddenSizes(64).addHiddenSizes(64))
        .setL2(1.0).build());
    Random random = new Random(5);
    float[][] x = new float[ROWS][DIM];
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      for (int j = 0; j < DIM; j++) {
        x[i][j] = (float) random.nextGaussian();
      }
      ids.add("r" + i);
      prompts.add("q" + i % 5);
    }
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId("mlp")
        .addAllResponseIds(ids).addAllPromptIds(prompts).setEmbeddings(TestServer.matrix(x)).build());
    AddComparisonsRequest.Builder labels = AddComparisonsRequest.newBuilder().setProjectId("mlp");
    for (int k = 0; k < 200; k++) {
      int a = random.nextInt(ROWS);
      int b = (a + 1 + random.nextInt(ROWS - 1)) % ROWS;
      labels.addComparisons(Comparison.newBuilder().setAId("r" + a).setBId("r" + b)
          .setOutcome(x[a][0] > x[b][0] ? Outcome.OUTCOME_A : Outcome.OUTCOME_B));
    }
    server.blocking().addComparisons(labels.build());
    assertThat(fit(5).getModel().getVersion()).isEqualTo(1);
  }

  @AfterEach
  void stop() {
    server.close();
    modelingLog.detachAppender(logs);
  }

  static FitRequest request(int epochs) {
    return FitRequest.newBuilder().setProjectId("mlp").setSeed(1)
        .setMlp(MlpFitOptions.newBuilder().setEpochs(epochs).setBatchSize(8)).build();
  }

  dev.activerm.proto.v1.FitResponse fit(int epochs) {
    return server.blocking().fit(request(epochs));
  }

  long latestVersion() {
    return server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("mlp").build())
        .getProject().getLatestModelVersion();
  }

  /** Waits (bounded) for the server's "cancelled ... nothing stored" line and returns it. */
  String awaitCancelLog() throws InterruptedException {
    for (int i = 0; i < 600; i++) {
      synchronized (logs.list) {
        for (ILoggingEvent e : logs.list) {
          if (e.getFormattedMessage().contains("Fit cancelled by the caller")) {
            return e.getFormattedMessage();
          }
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the server never logged that it stopped the cancelled Fit");
  }

  @Test
  void aShortDeadlineStopsTheFitAndStoresNothing() throws Exception {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> server.blocking().withDeadlineAfter(300, TimeUnit.MILLISECONDS).fit(request(100_000)));
    assertThat(e).isNotNull();
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(awaitCancelLog()).contains("MLP epoch").contains("nothing stored");
    assertThat(latestVersion()).isEqualTo(1);
    // The next Fit gets the lock (it would time out behind 100 000 epochs) and takes version 2, not 3.
    assertThat(fit(5).getModel().getVersion()).isEqualTo(2);
  }

  @Test
  void clientCancellationStopsTheFitAndStoresNothing() throws Exception {
    Context.CancellableContext context = Context.current().withCancellation();
    CompletableFuture<Void> call = new CompletableFuture<>();
    Thread caller = new Thread(() -> context.run(() -> {
      try {
        server.blocking().withDeadlineAfter(60, TimeUnit.SECONDS).fit(request(100_000));
        call.complete(null);
      } catch (RuntimeException t) {
        call.completeExceptionally(t);
      }
    }));
    caller.start();
    Thread.sleep(500);
    context.cancel(null);
    ExecutionException e = catchThrowableOfType(ExecutionException.class, () -> call.get(30, TimeUnit.SECONDS));
    assertThat(e).isNotNull();
    assertThat(Status.fromThrowable(e.getCause()).getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(awaitCancelLog()).contains("nothing stored");
    assertThat(latestVersion()).isEqualTo(1);
    assertThat(fit(5).getModel().getVersion()).isEqualTo(2);
    caller.join(10_000);
  }
}
