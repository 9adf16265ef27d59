package dev.activerm.server;

import dev.activerm.server.store.DataDirLock;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;

/** The guard's second check: a call that succeeds while the data dir vanishes is not acknowledged. */
class DataDirGuardTest {
  @TempDir Path parent;

  @Test
  void callThatSucceedsWhileTheDataDirVanishesIsAnsweredUnavailable() throws IOException {
    Path dataDir = parent.resolve("data");
    try (DataDirLock lock = DataDirLock.acquire(dataDir); DataDirGuard guard = guard(lock)) {
      RecordingCall call = new RecordingCall();
      guard.interceptCall(call, new Metadata(), (c, headers) -> {
        // The handler "commits", the dir disappears, then the handler answers OK.
        deleteTree(dataDir);
        c.close(Status.OK, new Metadata());
        return new ServerCall.Listener<>() {};
      });
      assertThat(call.closed.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(call.closed.getDescription()).contains("was deleted").contains("what it stored may be lost");
    }
  }

  @Test
  void callThatFailsOnItsOwnKeepsItsStatus() throws IOException {
    Path dataDir = parent.resolve("data");
    try (DataDirLock lock = DataDirLock.acquire(dataDir); DataDirGuard guard = guard(lock)) {
      RecordingCall call = new RecordingCall();
      guard.interceptCall(call, new Metadata(), (c, headers) -> {
        c.close(Status.NOT_FOUND.withDescription("no project 'x'"), new Metadata());
        return new ServerCall.Listener<>() {};
      });
      assertThat(call.closed.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }
  }

  private static DataDirGuard guard(DataDirLock lock) {
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus("", ServingStatus.SERVING);
    return new DataDirGuard(lock, health, List.of(""));
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
  }

  /** Just enough of a ServerCall to see how the guard closes it. */
  private static final class RecordingCall extends ServerCall<InputStream, InputStream> {
    Status closed;

    @Override
    public void request(int numMessages) {}

    @Override
    public void sendHeaders(Metadata headers) {}

    @Override
    public void sendMessage(InputStream message) {}

    @Override
    public void close(Status status, Metadata trailers) {
      closed = status;
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public Attributes getAttributes() {
      return Attributes.EMPTY;
    }

    @Override
    public MethodDescriptor<InputStream, InputStream> getMethodDescriptor() {
      return null;
    }
  }
}
