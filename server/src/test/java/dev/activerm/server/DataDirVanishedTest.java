package dev.activerm.server;

import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.ListProjectsRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The data dir deleted (or swapped for another directory) under a running server: SQLite
 * keeps writing to its unlinked file and new pool files fail, so before this guard a write
 * was acknowledged and lost, or answered INTERNAL, while health still said SERVING.
 */
class DataDirVanishedTest {
  @TempDir Path parent;
  Path dataDir;
  TestServer server;

  @BeforeEach
  void start() throws IOException {
    dataDir = parent.resolve("data");
    server = new TestServer(dataDir);
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("before").setEmbeddingDim(4).build());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void deletedDataDirRefusesCallsAndFailsHealth() throws IOException {
    deleteTree(dataDir);

    StatusRuntimeException write = catchThrowableOfType(StatusRuntimeException.class, () -> server.blocking()
        .createProject(CreateProjectRequest.newBuilder().setProjectId("after").setEmbeddingDim(4).build()));
    assertThat(write).as("a write after the data dir is gone must not be acknowledged").isNotNull();
    assertThat(write.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(write.getStatus().getDescription())
        .contains(dataDir.toAbsolutePath().toString()).contains("was deleted").contains("Restart the server");
    StatusRuntimeException read = catchThrowableOfType(StatusRuntimeException.class, () -> server.blocking()
        .getProject(GetProjectRequest.newBuilder().setProjectId("before").build()));
    assertThat(read.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);

    assertThat(HealthGrpc.newBlockingStub(server.channel()).check(HealthCheckRequest.getDefaultInstance()).getStatus())
        .isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(HealthGrpc.newBlockingStub(server.channel())
            .check(HealthCheckRequest.newBuilder().setService("activerm.v1.ActiveRewardModelingService").build())
            .getStatus())
        .isEqualTo(ServingStatus.NOT_SERVING);
  }

  @Test
  void dataDirReplacedByAnotherDirectoryIsDetectedToo() throws IOException {
    // A restore that swaps the directory: same path, another inode, and no lock of ours in it.
    Path aside = parent.resolve("aside");
    Files.move(dataDir, aside);
    Files.createDirectories(dataDir);

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> server.blocking().listProjects(ListProjectsRequest.getDefaultInstance()));
    assertThat(e).as("calls after the data dir was swapped must fail").isNotNull();
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.getStatus().getDescription()).contains("replaced");
  }

  @Test
  void intactDataDirServesAsBefore() {
    assertThat(server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("before").build())
        .getProject().getEmbeddingDim()).isEqualTo(4);
    assertThat(HealthGrpc.newBlockingStub(server.channel()).check(HealthCheckRequest.getDefaultInstance()).getStatus())
        .isEqualTo(ServingStatus.SERVING);
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
