package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.Matrix;
import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bytes no stub would send, over a real socket to the packaged server: an undecodable chunk
 * ends an upload with INVALID_ARGUMENT, stores nothing and frees the project's upload slot;
 * a flood of undecodable health checks (no key needed) leaves no stack trace and a bounded log.
 */
@Timeout(180)
class MalformedWireIT {
  static final byte[] GARBAGE = {(byte) 0xff};
  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  @TempDir Path dir;

  static Status call(ManagedChannel channel, MethodDescriptor<?, ?> typed, byte[]... messages) throws Exception {
    ClientCall<byte[], byte[]> call = channel.newCall(typed.toBuilder(BYTES, BYTES).build(),
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
    CompletableFuture<Status> done = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        done.complete(status);
      }
    }, new Metadata());
    call.request(10);
    for (byte[] m : messages) {
      call.sendMessage(m);
    }
    call.halfClose();
    return done.get(20, TimeUnit.SECONDS);
  }

  static byte[] chunk(String prefix) {
    byte[] data = new byte[2 * 2 * 4];
    return AddResponsesRequest.newBuilder().setProjectId("p").addResponseIds(prefix + "0").addResponseIds(prefix + "1")
        .addPromptIds("q").addPromptIds("q")
        .setEmbeddings(Matrix.newBuilder().setRows(2).setCols(2).setData(ByteString.copyFrom(data))).build().toByteArray();
  }

  @Test
  void undecodableBytesAreInvalidArgumentAndLeaveNoTrace() throws Exception {
    try (ServerProcess server = ServerProcess.start(dir.resolve("data"), "--grpc-threads", "2")) {
      ManagedChannel channel = ManagedChannelBuilder.forTarget(server.target()).usePlaintext().build();
      try {
        var stub = ActiveRewardModelingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        stub.createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(2).build());
        MethodDescriptor<?, ?> add = ActiveRewardModelingServiceGrpc.getAddResponsesMethod();

        assertThat(call(channel, add, chunk("a"), GARBAGE).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(call(channel, add, chunk("b"), GARBAGE, chunk("c")).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(stub.getProject(GetProjectRequest.newBuilder().setProjectId("p").build()).getProject().getNumResponses())
            .isZero();
        // The slot is free: a clean upload commits within its 10 s deadline (a held slot waits 30 s).
        assertThat(call(channel, add, chunk("d")).getCode()).isEqualTo(Status.Code.OK);

        for (int i = 0; i < 200; i++) {
          assertThat(call(channel, HealthGrpc.getCheckMethod(), GARBAGE).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        }
        // Answered calls were logged before they were answered; read the log now.
        long decodeLines = server.log().stream().filter(l -> l.contains("rejected a malformed call")).count();
        assertThat(decodeLines).isBetween(1L, 12L);
        assertThat(server.log()).noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception"));
      } finally {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }
}
