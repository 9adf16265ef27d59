package dev.activerm.server.core.model;

import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BradleyTerryTest {
  @Test
  void lossIsFiniteAndAccurateAtExtremeMargins() {
    // -log sigma(-1000) = 1000 + log(1 + e^-1000) = 1000 exactly in double.
    assertThat(BradleyTerry.loss(-1000, 1.0)).isEqualTo(1000.0);
    assertThat(BradleyTerry.loss(1000, 0.0)).isEqualTo(1000.0);
    // -log sigma(40) = log1p(e^-40) ~ e^-40, where the naive form gives 0.
    assertThat(BradleyTerry.loss(40, 1.0)).isCloseTo(Math.exp(-40), within(1e-30));
    assertThat(BradleyTerry.curvature(800)).isGreaterThanOrEqualTo(0.0);
  }

  @Test
  void tieIsHalfAWinEach() {
    double s = 0.8;
    double direct = -0.5 * Math.log(1 / (1 + Math.exp(-s))) - 0.5 * Math.log(1 / (1 + Math.exp(s)));
    assertThat(BradleyTerry.loss(s, 0.5)).isCloseTo(direct, within(1e-15));
    assertThat(BradleyTerry.dLoss(0.0, 0.5)).isEqualTo(0.0);
  }
}
