package dev.activerm.server.core.project;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.server.core.model.HeadSpec;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start-up finishes what a committed DeleteProject left undone, and only that. */
class ProjectRegistryStartupTest {
  @TempDir Path dir;

  @Test
  void aDeleteThatStoppedAfterItsCommitHasItsPoolFilesRemovedAtTheNextStart() {
    long key;
    try (SqliteStore store = SqliteStore.open(dir)) {
      PoolFiles pools = new PoolFiles(dir);
      ProjectRegistry registry = ProjectRegistry.load(store, pools, Clock.systemUTC(), Limits.DEFAULT);
      registry.createProject("p", 4, HeadSpec.of(HeadType.LINEAR, new int[0]), 1.0, 0);
      key = registry.require("p").key();
      try (PoolFiles.Writer w = pools.openWriter(key, 0, 4)) {
        w.write(new float[] {1, 2, 3, 4});
        w.sync();
        w.keep();
      }
      store.appendResponses(key, 0, java.util.List.of("r"), java.util.List.of("q"), 1);
      // The delete's commit, then a crash before its files were removed.
      store.deleteProject(key);
    }
    assertThat(dir.resolve("pools/" + key + ".f32")).exists();

    try (SqliteStore store = SqliteStore.open(dir)) {
      ProjectRegistry registry = ProjectRegistry.load(store, new PoolFiles(dir), Clock.systemUTC(), Limits.DEFAULT);
      assertThat(registry.projectCount()).isZero();
      assertThat(dir.resolve("pools/" + key + ".f32")).doesNotExist();
      assertThat(dir.resolve("pools/" + key + ".crc")).doesNotExist();
      assertThat(store.pendingFileDeletions()).isEmpty();
    }
  }
}
