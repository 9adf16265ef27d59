package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.Types.Head;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged server on a data dir that is inconsistent or damaged (a missing, empty or
 * stale database; a flipped byte in a pool file): it refuses to start, says what is wrong and
 * how to recover, and deletes nothing; after the recovery it says, everything is back.
 */
@Timeout(300)
class DataDirConsistencyIT {
  static final int DIM = 512; // 2 KiB rows: 600 rows span two 1 MiB checksum blocks

  @TempDir Path dataDir;
  @TempDir Path aside;

  static List<String> ids(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> prefix + "-" + i).toList();
  }

  static float[][] rows(int n, float base) {
    float[][] out = new float[n][DIM];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < DIM; j++) {
        out[i][j] = base + i + j / 1000f;
      }
    }
    return out;
  }

  /** Project p (600 rows) and q (20 rows), then a clean stop. */
  void twoProjects() throws Exception {
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
      client.addResponses("p", ids("a", 600), ids("q", 600), rows(600, 0));
      client.createProject("q", DIM, Head.LINEAR, 1.0);
      client.addResponses("q", ids("b", 20), ids("q", 20), rows(20, 5));
      assertThat(server.terminate(Duration.ofSeconds(60))).isIn(0, 143);
    }
  }

  void assertBothProjectsAreBack() throws Exception {
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.getProject("p").numResponses()).isEqualTo(600);
      assertThat(client.getProject("q").numResponses()).isEqualTo(20);
      assertThat(client.getResponses("p", List.of("a-599"), true).embeddings()[0]).isEqualTo(rows(600, 0)[599]);
      assertThat(client.getResponses("q", List.of("b-19"), true).embeddings()[0]).isEqualTo(rows(20, 5)[19]);
    }
  }

  /** Every file under pools/ with its bytes. */
  Map<String, byte[]> poolFiles() throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> files = Files.list(dataDir.resolve("pools"))) {
      for (Path f : files.toList()) {
        out.put(f.getFileName().toString(), Files.readAllBytes(f));
      }
    }
    return out;
  }

  ServerProcess.Exit refusedStart() throws Exception {
    ServerProcess.Exit exit = ServerProcess.runExpectingExit(dataDir, Duration.ofSeconds(90));
    assertThat(exit.code()).as(exit.output()).isNotZero();
    assertThat(exit.output()).contains("docs/operations.md").doesNotContain("\tat dev.activerm");
    return exit;
  }

  void moveDatabase(Path from, Path to) throws IOException {
    for (String name : List.of("activerm.db", "activerm.db-wal", "activerm.db-shm")) {
      if (Files.exists(from.resolve(name))) {
        Files.move(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.deleteIfExists(to.resolve(name));
      }
    }
  }

  @Test
  void aMissingDatabaseStopsTheStartAndNoPoolFileIsDeleted() throws Exception {
    twoProjects();
    Map<String, byte[]> pools = poolFiles();
    moveDatabase(dataDir, aside);

    ServerProcess.Exit exit = refusedStart();

    assertThat(exit.output()).contains("activerm.db holds no projects").contains("Nothing was deleted");
    assertThat(poolFiles()).containsOnlyKeys(pools.keySet());
    pools.forEach((name, bytes) -> assertThat(dataDir.resolve("pools/" + name)).hasBinaryContent(bytes));
    // The recovery the message names: put the database back.
    moveDatabase(aside, dataDir);
    assertBothProjectsAreBack();
  }

  @Test
  void anEmptyDatabaseStopsTheStart() throws Exception {
    twoProjects();
    Files.copy(dataDir.resolve("activerm.db"), aside.resolve("activerm.db"));
    Files.write(dataDir.resolve("activerm.db"), new byte[0]);

    assertThat(refusedStart().output()).contains("activerm.db holds no projects");

    moveDatabase(aside, dataDir);
    assertBothProjectsAreBack();
  }

  @Test
  void aLostWalStopsTheStartInsteadOfDeletingTheNewerProjectsPool() throws Exception {
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
      client.addResponses("p", ids("a", 10), ids("q", 10), rows(10, 0));
      assertThat(server.terminate(Duration.ofSeconds(60))).isIn(0, 143); // checkpointed into activerm.db
    }
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("q", DIM, Head.LINEAR, 1.0);
      client.addResponses("q", ids("b", 20), ids("q", 20), rows(20, 5));
      server.kill9(); // q's commits are only in activerm.db-wal
    }
    Path wal = dataDir.resolve("activerm.db-wal");
    assertThat(wal).exists();
    Files.move(wal, aside.resolve("activerm.db-wal"));
    Files.deleteIfExists(dataDir.resolve("activerm.db-shm"));
    Map<String, byte[]> pools = poolFiles();

    ServerProcess.Exit exit = refusedStart();

    assertThat(exit.output()).contains("of projects that activerm.db does not have").contains("2.f32");
    pools.forEach((name, bytes) -> assertThat(dataDir.resolve("pools/" + name)).hasBinaryContent(bytes));
    Files.move(aside.resolve("activerm.db-wal"), wal, StandardCopyOption.REPLACE_EXISTING);
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.getProject("q").numResponses()).isEqualTo(20);
      assertThat(client.getResponses("q", List.of("b-19"), true).embeddings()[0]).isEqualTo(rows(20, 5)[19]);
    }
  }

  @Test
  void deleteProjectStillRemovesItsFiles() throws Exception {
    twoProjects();
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.deleteProject("q");
      assertThat(poolFiles()).containsOnlyKeys("1.f32", "1.crc");
      server.kill9();
    }
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.listProjects()).extracting(p -> p.projectId()).containsExactly("p");
    }
  }

  @Test
  void aFlippedByteInAPoolFileStopsTheStartNamingTheFileAndTheBytes() throws Exception {
    twoProjects();
    Path pool = dataDir.resolve("pools/1.f32");
    flipByte(pool, 1_200_000);

    ServerProcess.Exit exit = refusedStart();

    assertThat(exit.output())
        .contains("pools/1.f32 under --data-dir: bytes 1048576..1228799")
        .contains("do not match their CRC32C checksum");
    flipByte(pool, 1_200_000); // as restoring the file from a backup would
    assertBothProjectsAreBack();
  }

  @Test
  void aDataDirFromBeforeChecksumsGetsThemAtStart() throws Exception {
    twoProjects();
    Files.delete(dataDir.resolve("pools/1.crc"));
    Files.delete(dataDir.resolve("pools/2.crc"));
    try (ServerProcess server = ServerProcess.start(dataDir)) {
      assertThat(server.log()).anyMatch(l -> l.contains("1.f32 had no checksums"));
    }
    assertThat(dataDir.resolve("pools/1.crc")).exists();
    flipByte(dataDir.resolve("pools/2.f32"), 100);
    assertThat(refusedStart().output()).contains("pools/2.f32 under --data-dir: bytes 0..40959");
  }

  static void flipByte(Path file, long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      assertThat(offset).as("offset inside " + file).isLessThan(ch.size());
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
      ch.write(b, offset);
    }
  }
}
