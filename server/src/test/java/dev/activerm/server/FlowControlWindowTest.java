package dev.activerm.server;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * --flow-control-window-mib: parsed into the config, applied to the Netty transport (a real
 * client may send that many bytes ahead of what the server has read on a stream, no more), and
 * uploads through that transport keep their guarantees (all rows stored, values intact, bad
 * or oversized chunks refused).
 */
@Timeout(120)
class FlowControlWindowTest {
  static final int DIM = 1024;
  /** 512 KiB of floats per chunk. */
  static final int ROWS = 128;

  @TempDir Path dir;

  Main parsed(String... flags) {
    Main main = new Main();
    List<String> args = new ArrayList<>(List.of("--port", "0", "--data-dir", dir.resolve("data").toString()));
    args.addAll(List.of(flags));
    new CommandLine(main).parseArgs(args.toArray(String[]::new));
    return main;
  }

  static AddResponsesRequest chunk(String project, String idPrefix, int rows, float bad) {
    float[][] values = new float[rows][DIM];
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      ids.add(idPrefix + i);
      prompts.add("q" + (i / 4));
      for (int j = 0; j < DIM; j++) {
        values[i][j] = (float) Math.sin(idPrefix.hashCode() + i * 31.0 + j);
      }
    }
    values[rows / 2][DIM / 2] = bad;
    AddResponsesRequest.Builder b = AddResponsesRequest.newBuilder().addAllResponseIds(ids).addAllPromptIds(prompts)
        .setEmbeddings(TestServer.matrix(values));
    if (project != null) {
      b.setProjectId(project);
    }
    return b.build();
  }

  static AddResponsesRequest chunk(String project, String idPrefix, int rows) {
    return chunk(project, idPrefix, rows, 0.25f);
  }

  @Test
  void theFlagIsParsedWithItsDefaultAndBounds() {
    assumeTrue(System.getenv("ACTIVERM_FLOW_CONTROL_WINDOW_MIB") == null, "the environment sets the flag");
    assertThat(parsed().config().flowControlWindowBytes()).isEqualTo(ServerConfig.DEFAULT_FLOW_CONTROL_WINDOW_MIB << 20)
        .isEqualTo(16 << 20);
    assertThat(parsed("--flow-control-window-mib", "24").config().flowControlWindowBytes()).isEqualTo(24 << 20);
    assertThat(parsed("--flow-control-window-mib", "0").config().flowControlWindowBytes()).isZero();
    assertThatThrownBy(() -> parsed("--flow-control-window-mib", "1025").config())
        .hasMessageContaining("--flow-control-window-mib is 1025").hasMessageContaining("0 (gRPC's own");
    assertThatThrownBy(() -> parsed("--flow-control-window-mib", "-1").config())
        .hasMessageContaining("--flow-control-window-mib is -1");
  }

  /**
   * A server that reads no message after the first: the client can send what the window
   * allows and then stalls. gRPC's own window is 1 MiB, auto-tuned up to 8 MiB at most, so
   * reaching 12 MiB shows the configured 16 MiB is in force; the stall below 17 MiB shows it
   * bounds what one stream can leave unread. The bound is per stream, not per connection:
   * gRPC refills the connection window as bytes arrive, so a second unread stream on the same
   * connection gets as far (the memory bound in the flag's help is per upload, for that).
   */
  @Test
  void aClientCanSendTheConfiguredWindowAheadOfTheServerAndNoMore() throws Exception {
    ServerConfig config = parsed("--flow-control-window-mib", "16").config();
    List<ServerCallStreamObserver<AddResponsesResponse>> held = new ArrayList<>();
    int[] received = new int[1];
    ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceImplBase readsOne =
        new ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceImplBase() {
          @Override
          public StreamObserver<AddResponsesRequest> addResponses(StreamObserver<AddResponsesResponse> out) {
            ServerCallStreamObserver<AddResponsesResponse> call = (ServerCallStreamObserver<AddResponsesResponse>) out;
            call.disableAutoRequest();
            call.request(1); // the first message, then nothing: as an upload waiting for its project's slot
            synchronized (held) {
              held.add(call);
            }
            return new StreamObserver<>() {
              @Override
              public void onNext(AddResponsesRequest value) {
                synchronized (held) {
                  received[0]++;
                }
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            };
          }
        };
    Server server = Main.transport(config).addService(readsOne).build().start();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    try {
      AddResponsesRequest piece = chunk("p", "r", ROWS);
      int size = piece.getSerializedSize() + 5; // gRPC's frame header
      Sender first = new Sender(channel);
      long sent = first.sendUntilStalled(piece);
      assertThat(sent).as("bytes sent before the stall, %d-byte messages", size)
          .isGreaterThanOrEqualTo(12L << 20)
          .isLessThanOrEqualTo((16L << 20) + 2L * size);
      Sender second = new Sender(channel);
      long more = second.sendUntilStalled(piece);
      assertThat(more).as("a second unread stream on the same connection, %d-byte messages", size)
          .isGreaterThanOrEqualTo(12L << 20)
          .isLessThanOrEqualTo((16L << 20) + 2L * size);
      synchronized (held) {
        assertThat(received[0]).isEqualTo(2); // only each stream's first message was read
      }
      first.stream.cancel("done", null);
      second.stream.cancel("done", null);
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  /** One client-streaming AddResponses call that sends only when the transport is ready. */
  static final class Sender {
    final Semaphore ready = new Semaphore(0);
    final ClientCallStreamObserver<AddResponsesRequest> stream;

    Sender(ManagedChannel channel) {
      ClientResponseObserver<AddResponsesRequest, AddResponsesResponse> observer = new ClientResponseObserver<>() {
        @Override
        public void beforeStart(ClientCallStreamObserver<AddResponsesRequest> s) {
          s.setOnReadyHandler(ready::release);
        }

        @Override
        public void onNext(AddResponsesResponse value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
      stream = (ClientCallStreamObserver<AddResponsesRequest>) ActiveRewardModelingServiceGrpc.newStub(channel)
          .withDeadlineAfter(100, TimeUnit.SECONDS).addResponses(observer);
    }

    /**
     * Sends the message whenever the stream is ready until it has not been ready for 2 s (or
     * 64 MiB are out, or 60 s passed); returns the bytes handed to the transport.
     */
    long sendUntilStalled(AddResponsesRequest message) throws InterruptedException {
      long sent = 0;
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (sent < 64L << 20 && System.nanoTime() < end) {
        if (stream.isReady()) {
          stream.onNext(message);
          sent += message.getSerializedSize() + 5;
        } else if (!ready.tryAcquire(2, TimeUnit.SECONDS) && !stream.isReady()) {
          break;
        }
      }
      return sent;
    }
  }

  /** Uploads through the configured transport: stored in full, values intact, bad chunks and oversized messages refused. */
  @Test
  void uploadsThroughTheWindowKeepTheirGuarantees() throws Exception {
    ServerConfig config = parsed("--flow-control-window-mib", "16", "--max-message-mib", "2").config();
    try (ActiveRmServer server = new ActiveRmServer(Main.transport(config), config).start()) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      try {
        var blocking = ActiveRewardModelingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        var async = ActiveRewardModelingServiceGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        blocking.createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
        // 48 chunks of 512 KiB (24 MiB, more than the window) in one call, then a second call.
        List<AddResponsesRequest> chunks = new ArrayList<>();
        for (int c = 0; c < 48; c++) {
          chunks.add(chunk(c == 0 ? "p" : null, "a" + c + "-", ROWS));
        }
        AddResponsesResponse a = TestServer.upload(async, chunks.toArray(AddResponsesRequest[]::new));
        assertThat(a.getNumAdded()).isEqualTo(48 * ROWS);
        AddResponsesResponse b = TestServer.upload(async, chunk("p", "b-", ROWS), chunk(null, "c-", ROWS));
        assertThat(b.getNumResponses()).isEqualTo(50 * ROWS);

        // A bad value in the 20th chunk: the call is refused, naming it, and nothing of it is stored.
        List<AddResponsesRequest> bad = new ArrayList<>();
        for (int c = 0; c < 40; c++) {
          bad.add(chunk(c == 0 ? "p" : null, "x" + c + "-", ROWS, c == 19 ? Float.NaN : 0.25f));
        }
        StatusRuntimeException refused = catchThrowableOfType(StatusRuntimeException.class,
            () -> TestServer.upload(async, bad.toArray(AddResponsesRequest[]::new)));
        assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(refused.getStatus().getDescription()).contains("NaN").contains("must be finite");

        // --max-message-mib still holds with a window far above it.
        StatusRuntimeException tooBig = catchThrowableOfType(StatusRuntimeException.class,
            () -> TestServer.upload(async, chunk("p", "big-", 5 * ROWS)));
        assertThat(tooBig.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

        assertThat(blocking.getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject()
            .getNumResponses()).isEqualTo(50 * ROWS);
        ListResponsesResponse some = blocking.listResponses(ListResponsesRequest.newBuilder().setProjectId("p")
            .addResponseIds("a0-0").addResponseIds("a47-127").addResponseIds("c-5").setIncludeEmbeddings(true).build());
        float[][] got = TestServer.rows(some.getEmbeddings());
        assertThat(got[0]).containsExactly(TestServer.rows(chunks.get(0).getEmbeddings())[0]);
        assertThat(got[1]).containsExactly(TestServer.rows(chunks.get(47).getEmbeddings())[ROWS - 1]);
        assertThat(got[2]).containsExactly(TestServer.rows(chunk(null, "c-", ROWS).getEmbeddings())[5]);
      } finally {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }
}
