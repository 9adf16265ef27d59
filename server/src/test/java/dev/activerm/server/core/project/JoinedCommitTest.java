package dev.activerm.server.core.project;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.activerm.server.core.model.HeadSpec;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import dev.activerm.server.store.StoreException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seam RegisterSelection commits through (ResponseBatch.commitWith): the rows and the
 * other write share one database transaction, so when the other write fails after the rows'
 * ids were inserted, neither survives: not in memory, not in the pool file, not after a restart.
 */
class JoinedCommitTest {
  private static final int DIM = 2;
  @TempDir Path dir;

  private static ResponseBatch batch(Responses responses, String... ids) {
    IngestClaim claim = responses.claim("p");
    assertThat(claim.granted()).isDone();
    ResponseBatch b = responses.open(claim);
    float[] values = new float[ids.length * DIM];
    for (int i = 0; i < values.length; i++) {
      values[i] = i + 0.5f;
    }
    b.addChunk(List.of(ids), List.of(ids).stream().map(id -> "q").toList(), ids.length, DIM, values);
    return b;
  }

  @Test
  void aFailingJoinedWriteRollsBackTheRowsItWasCommittedWith() throws Exception {
    long key;
    try (SqliteStore store = SqliteStore.open(dir)) {
      PoolFiles pools = new PoolFiles(dir);
      ProjectRegistry registry = ProjectRegistry.load(store, pools, Clock.systemUTC(), Limits.DEFAULT);
      registry.createProject("p", DIM, HeadSpec.of(HeadType.LINEAR, new int[0]), 1.0, 0);
      ProjectState s = registry.require("p");
      key = s.key();
      Responses responses = new Responses(registry, store, pools, Limits.DEFAULT);

      ResponseBatch failing = batch(responses, "a", "b");
      boolean[] ran = new boolean[1];
      failing.commitWith(() -> {
        ran[0] = true;
        throw new StoreException("injected: the selection's insert failed");
      });
      Throwable e = catchThrowable(() -> responses.commit(failing));

      assertThat(ran[0]).as("the joined write ran inside the commit").isTrue();
      assertThat(e).isInstanceOf(StoreException.class).hasMessageContaining("injected");
      assertThat(s.pool().size()).isZero();
      assertThat(s.responses().size()).isZero();
      assertThat(Files.size(dir.resolve("pools/" + key + ".f32"))).isZero();

      // The slot was given back and nothing stayed behind: the next batch takes row 0.
      ResponseBatch next = batch(responses, "c");
      boolean[] joined = new boolean[1];
      next.commitWith(() -> joined[0] = true);
      assertThat(responses.commit(next)).isEqualTo(1);
      assertThat(joined[0]).isTrue();
      assertThat(s.responses().rowOf("c")).isZero();
    }
    try (SqliteStore store = SqliteStore.open(dir)) {
      ProjectRegistry registry = ProjectRegistry.load(store, new PoolFiles(dir), Clock.systemUTC(), Limits.DEFAULT);
      ProjectState s = registry.require("p");
      assertThat(s.responses().size()).isEqualTo(1);
      assertThat(s.responses().rowOf("a")).isNegative();
      assertThat(s.responses().rowOf("c")).isZero();
      float[] row = new float[DIM];
      s.pool().copyRow(0, row, 0);
      assertThat(row).containsExactly(0.5f, 1.5f);
      assertThat(Files.size(dir.resolve("pools/" + key + ".f32"))).isEqualTo(DIM * Float.BYTES);
    }
  }
}
