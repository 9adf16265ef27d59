package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.Types.Head;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A data dir has one server: a second process on it refuses to start and names the holder. */
@Timeout(240)
class DataDirLockIT {
  @TempDir Path dataDir;

  @Test
  void secondServerOnTheSameDataDirExitsNamingTheHolder() throws Exception {
    try (ServerProcess first = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(first.target())) {
      client.createProject("p", 4, Head.LINEAR, 1.0);
      long firstPid = first.pid();

      ServerProcess.Exit second = ServerProcess.runExpectingExit(dataDir, Duration.ofSeconds(60));

      assertThat(second.code()).as(second.output()).isNotZero();
      assertThat(second.output())
          .contains(dataDir.toString())
          .contains("in use by another activerm server")
          .contains("pid " + firstPid);
      // The first server is untouched and still serves.
      assertThat(first.isAlive()).isTrue();
      assertThat(client.listProjects()).extracting(p -> p.projectId()).containsExactly("p");
      first.kill9();
    }

    // kill -9 releases the lock with the process: the next server starts without help.
    try (ServerProcess again = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(again.target())) {
      assertThat(client.listProjects()).extracting(p -> p.projectId()).isEqualTo(List.of("p"));
    }
  }
}
