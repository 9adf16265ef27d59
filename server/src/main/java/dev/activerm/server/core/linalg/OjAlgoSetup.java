package dev.activerm.server.core.linalg;

import org.ojalgo.OjAlgoUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ojAlgo's process-wide settings, in one place. ojAlgo sizes its own parallelism (threads,
 * cores, units) from a hardware profile it picks at class-load time, and prints a
 * multi-line "no predefined hardware profile" notice to stdout when none matches (on most
 * VMs). {@link #quiet} suppresses that notice (system property {@code shut.up.ojAlgo}, read
 * once when {@link OjAlgoUtils} initialises, so every class that uses ojAlgo calls it in its
 * static initialiser); {@link #setThreads} caps ojAlgo's parallelism explicitly (called once
 * at server start with --compute-threads) so it does not fight the gRPC executor.
 */
public final class OjAlgoSetup {
  private static final Logger log = LoggerFactory.getLogger(OjAlgoSetup.class);
  private static final String QUIET_PROPERTY = "shut.up.ojAlgo";

  static {
    if (System.getProperty(QUIET_PROPERTY) == null) {
      System.setProperty(QUIET_PROPERTY, "true");
    }
  }

  private OjAlgoSetup() {}

  /** Makes sure the start-up notice is suppressed; call before the first use of ojAlgo. */
  public static void quiet() {
    // The work happens in the static initialiser, once.
  }

  /** Caps ojAlgo's threads, cores and units at threads (it never raises them). */
  public static synchronized void setThreads(int threads) {
    int t = Math.max(1, threads);
    OjAlgoUtils.limitThreadsTo(t);
    OjAlgoUtils.limitCoresTo(t);
    OjAlgoUtils.limitUnitsTo(t);
    log.info("ojAlgo {}: {} threads, {} cores, {} units",
        OjAlgoUtils.getVersion(), OjAlgoUtils.ENVIRONMENT.threads, OjAlgoUtils.ENVIRONMENT.cores,
        OjAlgoUtils.ENVIRONMENT.units);
  }
}
