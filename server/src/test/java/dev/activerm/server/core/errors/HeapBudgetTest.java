package dev.activerm.server.core.errors;

import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HeapBudgetTest {
  private static final long MIB = 1L << 20;

  @Test
  void refusesWhatExceedsTheAvailableHeapNamingTheKnob() {
    assertThatThrownBy(() -> HeapBudget.require(300 * MIB, 200 * MIB, 512 * MIB, "SelectBatch X", "lower knob_y"))
        .isInstanceOfSatisfying(ActiveRmException.class,
            e -> assertThat(e.kind()).isEqualTo(ActiveRmException.Kind.RESOURCE_EXHAUSTED))
        .hasMessage("SelectBatch X needs about 300 MiB of working memory and the server has about 200 MiB free"
            + " (heap -Xmx 512 MiB); lower knob_y, or give the server more heap (-Xmx). Nothing was computed or"
            + " stored");
    assertThatThrownBy(() -> HeapBudget.require(Long.MAX_VALUE, 200 * MIB, 512 * MIB, "w", "f"))
        .hasMessageContaining("needs about more than 8 EiB");
  }

  @Test
  void acceptsWhatFits() {
    assertThatCode(() -> HeapBudget.require(200 * MIB, 200 * MIB, 512 * MIB, "w", "f")).doesNotThrowAnyException();
  }

  @Test
  void theLiveHeapBudgetIsBelowMaxMinusMargin() {
    long max = Runtime.getRuntime().maxMemory();
    assertThat(HeapBudget.available()).isLessThanOrEqualTo(max - HeapBudget.margin(max));
    assertThat(HeapBudget.margin(max)).isGreaterThanOrEqualTo(64 * MIB);
  }
}
