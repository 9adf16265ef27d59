package dev.activerm.server.core.project;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.activerm.server.core.model.HeadSpec;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import dev.activerm.server.store.StoreException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * After a start a project's ids stay in the store until a call needs one (an idle project
 * costs no heap for them, and start-up does not read them); the counts GetProject shows come
 * without them; damaged ids fail the call that needs them, not the start.
 */
class LazyResponseIdsTest {
  @TempDir Path dir;

  /** Stores rows r0..r4 (prompts q0, q1, q0, q1, q2) in two uploads, r3 retired, as Responses and Retirements do. */
  private long storeProject() {
    try (SqliteStore store = SqliteStore.open(dir)) {
      PoolFiles pools = new PoolFiles(dir);
      ProjectRegistry registry = ProjectRegistry.load(store, pools, Clock.systemUTC(), Limits.DEFAULT);
      registry.createProject("p", 2, HeadSpec.of(HeadType.LINEAR, new int[0]), 1.0, 0);
      long key = registry.require("p").key();
      try (PoolFiles.Writer w = pools.openWriter(key, 0, 2)) {
        w.write(new float[] {0, 0, 1, 1, 2, 2, 3, 3, 4, 4});
        w.sync();
        w.keep();
      }
      store.appendResponses(key, 0, List.of("r0", "r1", "r2"), List.of("q0", "q1", "q0"), 2);
      store.appendResponses(key, 3, List.of("r3", "r4"), List.of("q1", "q2"), 3);
      store.retireResponses(key, new int[] {3}, 1);
      return key;
    }
  }

  @Test
  void idsAreReadOnFirstUseNotAtStart() {
    storeProject();
    try (SqliteStore store = SqliteStore.open(dir)) {
      ProjectRegistry registry = ProjectRegistry.load(store, new PoolFiles(dir), Clock.systemUTC(), Limits.DEFAULT);
      ProjectState s = registry.require("p");
      assertThat(s.idsLoaded()).as("ids read at start-up").isFalse();
      ProjectInfo info = registry.getProject("p");
      assertThat(info.numResponses()).isEqualTo(5);
      assertThat(info.numPrompts()).isEqualTo(3);
      assertThat(info.numRetiredResponses()).isEqualTo(1);
      assertThat(s.idsLoaded()).as("ids read by GetProject").isFalse();

      assertThat(s.responses().rowOf("r4")).isEqualTo(4);
      assertThat(s.idsLoaded()).isTrue();
      assertThat(s.responses().promptId(3)).isEqualTo("q1");
      assertThat(s.responses().isRetired(3)).isTrue();
      assertThat(s.responses().isRetired(2)).isFalse();
      assertThat(registry.getProject("p").numPrompts()).isEqualTo(3);
      assertThat(registry.getProject("p").numRetiredResponses()).isEqualTo(1);
    }
  }

  @Test
  void rowsCommittedBeforeTheFirstUseAreAppendedToTheCountsAndThenLoadedOnce() {
    long key = storeProject();
    try (SqliteStore store = SqliteStore.open(dir)) {
      PoolFiles pools = new PoolFiles(dir);
      ProjectRegistry registry = ProjectRegistry.load(store, pools, Clock.systemUTC(), Limits.DEFAULT);
      ProjectState s = registry.require("p");
      // An upload's commit while the ids are still in the store (the path of Responses.commit
      // after the store committed): the counts move, the load later reads every row once.
      store.appendResponses(key, 5, List.of("r5"), List.of("q9"), 4);
      s.appendResponses(5, List.of("r5"), List.of("q9"), 4);
      assertThat(s.idsLoaded()).isFalse();
      assertThat(s.info().numPrompts()).isEqualTo(4);
      assertThat(s.responses().size()).isEqualTo(6);
      assertThat(s.responses().rowOf("r5")).isEqualTo(5);
      assertThat(s.responses().numPrompts()).isEqualTo(4);
    }
  }

  @Test
  void damagedIdsFailTheCallThatNeedsThemAndNotTheStart() throws Exception {
    long key = storeProject();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("activerm.db"))) {
      c.createStatement().executeUpdate(
          "UPDATE response_batches SET response_ids = x'05723078' WHERE project_key = " + key + " AND first_row = 3");
    }
    try (SqliteStore store = SqliteStore.open(dir)) {
      ProjectRegistry registry = ProjectRegistry.load(store, new PoolFiles(dir), Clock.systemUTC(), Limits.DEFAULT);
      assertThat(registry.getProject("p").numResponses()).isEqualTo(5);
      ProjectState s = registry.require("p");
      for (int attempt = 0; attempt < 2; attempt++) {
        assertThatThrownBy(s::responses)
            .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.damaged()).isTrue())
            .hasMessageContaining("activerm.db under --data-dir")
            .hasMessageContaining("project key " + key)
            .hasMessageContaining("rows 3..4")
            .hasMessageContaining("restore the data dir from a backup");
      }
      assertThat(s.idsLoaded()).isFalse();
    }
  }

  @Test
  void aDuplicateStoredIdIsDamageNamingTheProjectAndBothRows() {
    long key = storeProject();
    try (SqliteStore store = SqliteStore.open(dir)) {
      // Only a damaged or hand-edited database holds this: uploads refuse stored ids.
      store.appendResponses(key, 5, List.of("r1"), List.of("q0"), 3);
    }
    try (SqliteStore store = SqliteStore.open(dir)) {
      PoolFiles pools = new PoolFiles(dir);
      try (PoolFiles.Writer w = pools.openWriter(key, 5, 2)) {
        w.write(new float[] {5, 5});
        w.sync();
        w.keep();
      }
    }
    try (SqliteStore store = SqliteStore.open(dir)) {
      ProjectRegistry registry = ProjectRegistry.load(store, new PoolFiles(dir), Clock.systemUTC(), Limits.DEFAULT);
      assertThatThrownBy(() -> registry.require("p").responses())
          .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.damaged()).isTrue())
          .hasMessageContaining("project 'p' stores the response id 'r1' twice (rows 1 and 5)");
    }
  }
}
