package dev.activerm.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;

/** A block's pairs in k order over deduplicated local rows, phi read back bit for bit; a missing id is named. */
class PairBlockTest {
  static final int H = 3;
  static final float[] PHI = {1f, 2f, 3f, -4f, 5.5f, Float.MIN_VALUE, 7f, 8f, 9f};

  static Map<String, byte[]> phi() {
    return Map.of("a", PairBlock.bytes(PHI, 0, H), "b", PairBlock.bytes(PHI, 1, H), "c", PairBlock.bytes(PHI, 2, H));
  }

  @Test
  void pairsAreInKOrderOverOneRowPerResponse() {
    List<Row> pairs = List.of(RowFactory.create(9L, "b", "c", 0), RowFactory.create(2L, "a", "b", 0),
        RowFactory.create(5L, "c", "a", 0));
    PairBlock blk = PairBlock.of(H, pairs, phi());

    assertThat(blk.k).containsExactly(2L, 5L, 9L);
    assertThat(blk.rows()).isEqualTo(3);
    float[] row = new float[H];
    for (int i = 0; i < blk.size(); i++) {
      String[] ends = {blk.aId[i], blk.bId[i]};
      int[] local = {blk.a[i], blk.b[i]};
      for (int e = 0; e < 2; e++) {
        assertThat(blk.ids[local[e]]).isEqualTo(ends[e]);
        blk.copyRow(local[e], row, 0);
        int src = ends[e].charAt(0) - 'a';
        assertThat(row).containsExactly(PHI[src * H], PHI[src * H + 1], PHI[src * H + 2]);
      }
    }
  }

  @Test
  void aPairNamingAResponseWithoutPhiIsNamed() {
    Throwable e = catchThrowable(() -> PairBlock.of(H, List.of(RowFactory.create(1L, "a", "zz", 0)), phi()));
    assertThat(e).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'zz'")
        .hasMessageContaining("not in the pool");
  }
}
