package dev.activerm.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.Matrix;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real {@link ActiveRmServer} on an in-process transport with a generated name, over a
 * data dir the test owns; {@link #restart()} reopens the same data dir.
 */
public final class TestServer implements AutoCloseable {
  private final ServerConfig config;
  private final Clock clock;
  private ActiveRmServer server;
  private ManagedChannel channel;

  public TestServer(Path dataDir) throws IOException {
    this(ServerConfig.defaults(dataDir));
  }

  public TestServer(ServerConfig config) throws IOException {
    this(config, Clock.systemUTC());
  }

  /** With the server's clock (pending TTLs): a {@link MutableClock} lets a test move time. */
  public TestServer(ServerConfig config, Clock clock) throws IOException {
    this.config = config;
    this.clock = clock;
    open();
  }

  private void open() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = new ActiveRmServer(InProcessServerBuilder.forName(name), config, clock).start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  public ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub blocking() {
    return ActiveRewardModelingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  public ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceStub async() {
    return ActiveRewardModelingServiceGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  public ManagedChannel channel() {
    return channel;
  }

  /** The Prometheus endpoint's port (config metrics port 0 picks a free one), -1 without one. */
  public int metricsPort() {
    return server.metricsPort();
  }

  /** Closes the server as a shutdown would and opens a new one on the same data dir. */
  public void restart() throws IOException {
    close();
    open();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.close();
  }

  /**
   * One AddResponses call with these chunks; returns the answer or throws the call's
   * status as a StatusRuntimeException.
   */
  public static AddResponsesResponse upload(
      ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceStub async, AddResponsesRequest... chunks) {
    CompletableFuture<AddResponsesResponse> done = new CompletableFuture<>();
    StreamObserver<AddResponsesRequest> call = async.addResponses(new StreamObserver<>() {
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
    });
    for (AddResponsesRequest chunk : chunks) {
      call.onNext(chunk);
    }
    call.onCompleted();
    try {
      return done.get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException sre) {
        throw sre;
      }
      throw new AssertionError(e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("AddResponses did not answer within 60 s", e);
    }
  }

  /** Little-endian float32 row-major matrix, as the API expects. */
  public static Matrix matrix(float[][] rows) {
    int cols = rows.length == 0 ? 0 : rows[0].length;
    ByteBuffer b = ByteBuffer.allocate(rows.length * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float[] r : rows) {
      for (float v : r) {
        b.putFloat(v);
      }
    }
    return Matrix.newBuilder().setRows(rows.length).setCols(cols).setData(ByteString.copyFrom(b.array())).build();
  }

  public static float[][] rows(Matrix m) {
    ByteBuffer b = m.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    float[][] out = new float[m.getRows()][m.getCols()];
    for (float[] r : out) {
      for (int j = 0; j < r.length; j++) {
        r[j] = b.getFloat();
      }
    }
    return out;
  }

  /** The BadRequest field names of a failed call. */
  public static List<String> violatedFields(StatusRuntimeException e) {
    com.google.rpc.Status status = StatusProto.fromThrowable(e);
    if (status == null) {
      return List.of();
    }
    return status.getDetailsList().stream()
        .filter(a -> a.is(BadRequest.class))
        .flatMap(a -> {
          try {
            return a.unpack(BadRequest.class).getFieldViolationsList().stream();
          } catch (InvalidProtocolBufferException x) {
            throw new AssertionError(x);
          }
        })
        .map(BadRequest.FieldViolation::getField)
        .toList();
  }
}
