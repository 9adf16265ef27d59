package dev.activerm.server.core.project;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.model.HeadSpec;
import dev.activerm.server.core.model.HeadType;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An upload chunk given as little-endian bytes (the AddResponses path) is checked and stored as
 * the same chunk given as floats (the reference): the same error for a bad value, naming every
 * bad value, nothing written; the same rows when all are good.
 */
class ResponseBatchBytesTest {
  private static final int DIM = 3;
  @TempDir Path dir;

  private static ByteBuffer bytes(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return b.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  private static final List<String> IDS = List.of("a", "b", "c");
  private static final List<String> PROMPTS = List.of("q", "q", "r");

  private static String failure(Responses responses, boolean asBytes, float[] values) {
    IngestClaim claim = responses.claim("p");
    ResponseBatch batch = responses.open(claim);
    try {
      Throwable e = catchThrowable(() -> {
        if (asBytes) {
          batch.addChunk(IDS, PROMPTS, 3, DIM, bytes(values));
        } else {
          batch.addChunk(IDS, PROMPTS, 3, DIM, values);
        }
      });
      return e == null ? null : ((ActiveRmException) e).kind() + ": " + e.getMessage();
    } finally {
      responses.abort(batch);
    }
  }

  @Test
  void badValuesAreRejectedWithTheFloatPathsMessageAndNothingIsStored() throws Exception {
    try (SqliteStore store = SqliteStore.open(dir)) {
      PoolFiles pools = new PoolFiles(dir);
      ProjectRegistry registry = ProjectRegistry.load(store, pools, Clock.systemUTC(), Limits.DEFAULT);
      registry.createProject("p", DIM, HeadSpec.of(HeadType.LINEAR, new int[0]), 1.0, 0);
      ProjectState s = registry.require("p");
      Responses responses = new Responses(registry, store, pools, Limits.DEFAULT);
      float[][] bad = {
          {0, 1, 2, 3, Float.NaN, 5, 6, 7, 8},
          {0, 1, 2, 3, 4, 5, 6, 7, Float.NEGATIVE_INFINITY},
          {Float.POSITIVE_INFINITY, 1, 2, 3, 4, 5, 6, 7, 8},
          {0, 1, 2, 3, 4, Math.nextUp(1e6f), 6, 7, -2e6f},
          {Float.NaN, Float.NaN, 2, 3, 4, 5, 6, 7, Float.intBitsToFloat(0xff800001)}};
      for (float[] values : bad) {
        String reference = failure(responses, false, values);
        assertThat(reference).startsWith("INVALID_ARGUMENT");
        assertThat(failure(responses, true, values)).isEqualTo(reference);
      }
      assertThat(s.pool().size()).isZero();
      assertThat(Files.size(dir.resolve("pools/" + s.key() + ".f32"))).isZero();

      float[] good = {0, -0f, Float.MIN_VALUE, 1e6f, -1e6f, 3, 4, 5, 6};
      assertThat(failure(responses, false, good)).isNull();
      IngestClaim claim = responses.claim("p");
      ResponseBatch batch = responses.open(claim);
      batch.addChunk(IDS, PROMPTS, 3, DIM, bytes(good));
      assertThat(responses.commit(batch)).isEqualTo(3);
      float[] row = new float[DIM * 3];
      for (int r = 0; r < 3; r++) {
        s.pool().copyRow(r, row, r * DIM);
      }
      assertThat(row).containsExactly(good);
      assertThat(Float.floatToRawIntBits(row[1])).isEqualTo(Float.floatToRawIntBits(-0f));
    }
  }
}
