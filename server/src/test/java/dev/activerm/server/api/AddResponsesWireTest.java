package dev.activerm.server.api;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.server.RawCalls;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import dev.activerm.server.api.auth.ApiKeys;
import dev.activerm.server.core.project.Limits;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * AddResponses over raw gRPC: a stream commits only on a clean half-close, and every way a
 * stream can end (undecodable chunk, a chunk for another project, cancellation, deadline)
 * gives the project's upload slot back. Waiting uploads hold no gRPC thread.
 */
@Timeout(120)
class AddResponsesWireTest {
  static final int DIM = 3;
  static final byte[] GARBAGE = {(byte) 0xff};
  static final String TEAM_KEY = "team-a-key-0123456789abcdef";

  @TempDir Path dir;

  ServerConfig config(int grpcThreads, Path keys) {
    ServerConfig d = ServerConfig.defaults(dir.resolve("data"));
    return new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), d.cacheBytes(),
        grpcThreads, d.computeThreads(), d.shutdownGrace(),
        new ServerConfig.Security(null, null, keys), Limits.DEFAULT, -1);
  }

  static AddResponsesRequest chunk(String project, String idPrefix, int rows) {
    float[][] values = new float[rows][DIM];
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      ids.add(idPrefix + i);
      prompts.add("q" + i);
      for (int j = 0; j < DIM; j++) {
        values[i][j] = i + j * 0.5f;
      }
    }
    return AddResponsesRequest.newBuilder().setProjectId(project).addAllResponseIds(ids).addAllPromptIds(prompts)
        .setEmbeddings(TestServer.matrix(values)).build();
  }

  static long rows(TestServer server, String project) {
    return server.blocking().withDeadlineAfter(10, TimeUnit.SECONDS).getProject(GetProjectRequest.newBuilder().setProjectId(project).build())
        .getProject().getNumResponses();
  }

  /** A normal upload with a 10 s deadline: a leaked slot makes it wait 30 s, so it fails. */
  static AddResponsesResponse uploadSoon(TestServer server, AddResponsesRequest... chunks) {
    return TestServer.upload(server.async().withDeadlineAfter(10, TimeUnit.SECONDS), chunks);
  }

  @Test
  void anUndecodableLastChunkCommitsNothingAndSaysWhy() throws Exception {
    try (TestServer server = new TestServer(config(4, null))) {
      server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
      for (int run = 0; run < 8; run++) {
        RawCalls.Result r = RawCalls.call(server.channel(), RawCalls.method("AddResponses"),
            chunk("p", "r" + run + "-", 5).toByteArray(), GARBAGE);
        assertThat(r.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(r.status().getDescription())
            .contains("not a valid activerm.v1.AddResponsesRequest").contains("message 2");
        assertThat(rows(server, "p")).isZero();
      }
      // The slot is free again and the same ids can still be uploaded.
      assertThat(uploadSoon(server, chunk("p", "r0-", 5)).getNumResponses()).isEqualTo(5);
    }
  }

  @Test
  void anUndecodableMiddleChunkGivesTheSlotBack() throws Exception {
    try (TestServer server = new TestServer(config(4, null))) {
      server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
      RawCalls.Result r = RawCalls.call(server.channel(), RawCalls.method("AddResponses"),
          chunk("p", "a", 5).toByteArray(), GARBAGE, chunk("p", "b", 5).toByteArray());
      assertThat(r.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(rows(server, "p")).isZero();
      assertThat(uploadSoon(server, chunk("p", "c", 2)).getNumResponses()).isEqualTo(2);
    }
  }

  @Test
  void aScopedKeyCannotLockAProjectWithAChunkForAnother() throws Exception {
    Path keys = dir.resolve("keys.txt");
    Files.write(keys, List.of("sha256:" + ApiKeys.hash(TEAM_KEY) + " team-a team-a/*"));
    try (TestServer server = new TestServer(config(4, keys))) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TEAM_KEY);
      ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceStub team =
          server.async().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
      server.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .createProject(CreateProjectRequest.newBuilder().setProjectId("team-a/p1").setEmbeddingDim(DIM).build());

      StatusRuntimeException denied = catchThrowableOfType(StatusRuntimeException.class,
          () -> TestServer.upload(team, chunk("team-a/p1", "a", 5), chunk("team-b/x", "b", 5)));
      assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);

      AddResponsesResponse next = TestServer.upload(team.withDeadlineAfter(10, TimeUnit.SECONDS), chunk("team-a/p1", "c", 2));
      assertThat(next.getNumResponses()).isEqualTo(2);
    }
  }

  /** Opens an upload that sends one chunk and stays open; cancel the context to end it. */
  static CompletableFuture<Throwable> holdOpen(TestServer server, Context.CancellableContext ctx, AddResponsesRequest first) {
    CompletableFuture<Throwable> ended = new CompletableFuture<>();
    ctx.run(() -> {
      StreamObserver<AddResponsesRequest> in = server.async().addResponses(new StreamObserver<>() {
        @Override
        public void onNext(AddResponsesResponse value) {}

        @Override
        public void onError(Throwable t) {
          ended.complete(t);
        }

        @Override
        public void onCompleted() {
          ended.complete(null);
        }
      });
      in.onNext(first);
    });
    return ended;
  }

  @Test
  void waitingUploadsHoldNoGrpcThreadAndLeaveWhenCancelled() throws Exception {
    try (TestServer server = new TestServer(config(2, null))) {
      server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
      server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("other").setEmbeddingDim(DIM).build());
      Context.CancellableContext holder = Context.current().withCancellation();
      holdOpen(server, holder, chunk("p", "h", 1));
      awaitSlotHeld(server);

      // More waiting uploads than gRPC threads, without deadlines: none may park a thread.
      List<Context.CancellableContext> waiters = new ArrayList<>();
      List<CompletableFuture<Throwable>> waiting = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Context.CancellableContext w = Context.current().withCancellation();
        waiters.add(w);
        waiting.add(holdOpen(server, w, chunk("p", "w" + i + "-", 1)));
      }
      assertThat(rows(server, "other")).isZero(); // answered although four uploads wait

      // Cancelled waiters leave the queue; the holder's end hands the slot on to nobody stale.
      waiters.forEach(w -> w.cancel(null));
      for (CompletableFuture<Throwable> w : waiting) {
        assertThat(Status.fromThrowable(w.get(10, TimeUnit.SECONDS)).getCode()).isEqualTo(Status.Code.CANCELLED);
      }
      holder.cancel(null);
      assertThat(uploadSoon(server, chunk("p", "n", 3)).getNumResponses()).isEqualTo(3);
    }
  }

  @Test
  void aWaitingUploadProceedsWhenTheOneBeforeItCommits() throws Exception {
    try (TestServer server = new TestServer(config(2, null))) {
      server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
      ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceStub async = server.async();
      CompletableFuture<AddResponsesResponse> first = new CompletableFuture<>();
      StreamObserver<AddResponsesRequest> firstIn = async.addResponses(observer(first));
      firstIn.onNext(chunk("p", "a", 2));
      awaitSlotHeld(server);
      // The second call sends everything and half-closes while it waits for the slot.
      CompletableFuture<AddResponsesResponse> second = new CompletableFuture<>();
      StreamObserver<AddResponsesRequest> secondIn = async.addResponses(observer(second));
      secondIn.onNext(chunk("p", "b", 3));
      secondIn.onNext(chunk("", "c", 1));
      secondIn.onCompleted();
      firstIn.onCompleted();
      assertThat(first.get(10, TimeUnit.SECONDS).getNumAdded()).isEqualTo(2);
      assertThat(second.get(10, TimeUnit.SECONDS).getNumAdded()).isEqualTo(4);
      assertThat(rows(server, "p")).isEqualTo(6);
    }
  }

  static StreamObserver<AddResponsesResponse> observer(CompletableFuture<AddResponsesResponse> done) {
    return new StreamObserver<>() {
      @Override
      public void onNext(AddResponsesResponse value) {
        done.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        done.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    };
  }

  /**
   * Waits (bounded) until an upload holds the slot of project p. The client cannot see when
   * the server has taken a chunk, so it probes: an upload of one empty chunk fails at once
   * ("no rows") while the slot is free, and waits past its short deadline while it is held.
   */
  static void awaitSlotHeld(TestServer server) throws InterruptedException {
    for (int i = 0; i < 200; i++) {
      StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> TestServer.upload(
          server.async().withDeadlineAfter(100, TimeUnit.MILLISECONDS),
          AddResponsesRequest.newBuilder().setProjectId("p").build()));
      if (e != null && e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
        return;
      }
    }
    throw new AssertionError("no upload took the slot of project p");
  }
}
