package dev.activerm.server.core.linalg;

import org.junit.jupiter.api.Test;
import org.ojalgo.OjAlgoUtils;
import static org.assertj.core.api.Assertions.assertThat;

/** ojAlgo's parallelism is capped by OjAlgoSetup, and its start-up notice is switched off. */
class OjAlgoSetupTest {

  @Test
  void capsThreadsCoresAndUnitsAndSilencesTheHardwareNotice() {
    OjAlgoSetup.setThreads(1);
    assertThat(System.getProperty("shut.up.ojAlgo")).isNotNull();
    assertThat(OjAlgoUtils.ENVIRONMENT.threads).isEqualTo(1);
    assertThat(OjAlgoUtils.ENVIRONMENT.cores).isEqualTo(1);
    assertThat(OjAlgoUtils.ENVIRONMENT.units).isEqualTo(1);
  }
}
