package dev.activerm.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The programmatic default (LogSetup) against the XML it replaced (logback.xml, read by
 * logback's Joran as before): the same bytes for the same events, the same levels. The
 * process-level side (the service file is found, -Dlogback.configurationFile still wins) is
 * LogSetupProcessTest.
 */
class LogSetupTest {
  /** One exception for both contexts: its stack trace is part of the line. */
  private static final Exception FAILURE = new IllegalStateException("boom", new RuntimeException("cause"));

  private static LoggerContext fromXml(String level) throws Exception {
    LoggerContext context = new LoggerContext();
    if (level != null) {
      context.putProperty(LogSetup.LEVEL_VARIABLE, level); // Joran reads context properties before the environment
    }
    JoranConfigurator joran = new JoranConfigurator();
    joran.setContext(context);
    joran.doConfigure(LogSetupTest.class.getClassLoader().getResource("logback.xml"));
    return context;
  }

  private static LoggerContext fromCode(String level) {
    LoggerContext context = new LoggerContext();
    LogSetup.configureText(context, name -> name.equals(LogSetup.LEVEL_VARIABLE) ? level : null);
    return context;
  }

  private static List<ILoggingEvent> events(LoggerContext context) {
    Logger logger = context.getLogger("dev.activerm.server.core.project.ProjectRegistry");
    LoggingEvent plain = new LoggingEvent("fqcn", logger, Level.INFO, "loaded {} projects", null, new Object[] {3});
    LoggingEvent inCall = new LoggingEvent("fqcn", context.getLogger("activerm.access"), Level.WARN,
        "GetProject NOT_FOUND in 2 ms", null, null);
    inCall.setMDCPropertyMap(Map.of("request_id", "r-1", "project", "p/ä"));
    LoggingEvent ridOnly = new LoggingEvent("fqcn", logger, Level.DEBUG, "no project", null, null);
    ridOnly.setMDCPropertyMap(Map.of("request_id", "r-2"));
    LoggingEvent failed = new LoggingEvent("fqcn", logger, Level.ERROR, "INTERNAL",
        FAILURE, null);
    Map<String, String> empty = new HashMap<>();
    empty.put("request_id", "");
    LoggingEvent emptyRid = new LoggingEvent("fqcn", logger, Level.TRACE, "empty rid", null, null);
    emptyRid.setMDCPropertyMap(empty);
    List<ILoggingEvent> all = List.of(plain, inCall, ridOnly, failed, emptyRid);
    plain.setMDCPropertyMap(Map.of());
    failed.setMDCPropertyMap(Map.of());
    for (ILoggingEvent e : all) {
      ((LoggingEvent) e).setTimeStamp(1_764_000_000_123L);
      ((LoggingEvent) e).setThreadName("activerm-grpc-3");
    }
    return all;
  }

  /** What the context's STDERR appender writes for the events. */
  @SuppressWarnings("unchecked")
  private static String written(LoggerContext context) {
    OutputStreamAppender<ILoggingEvent> stderr =
        (OutputStreamAppender<ILoggingEvent>) context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender("STDERR");
    assertThat(stderr).as("a STDERR appender on the root logger").isNotNull();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (ILoggingEvent e : events(context)) {
      out.writeBytes(stderr.getEncoder().encode(e));
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theCodeWritesWhatLogbackXmlWrote() throws Exception {
    String xml = written(fromXml(null));
    String code = written(fromCode(null));
    assertThat(code).isEqualTo(xml);
    // and what that is (so a change to both at once is seen too)
    assertThat(code).startsWith("2025-11-24T16:00:00.123Z INFO  [activerm-grpc-3] d.a.s.c.p.ProjectRegistry - loaded 3 projects\n"
        + "2025-11-24T16:00:00.123Z WARN  [activerm-grpc-3] activerm.access rid=r-1 project=p/ä - GetProject NOT_FOUND in 2 ms\n"
        + "2025-11-24T16:00:00.123Z DEBUG [activerm-grpc-3] d.a.s.c.p.ProjectRegistry rid=r-2 - no project\n"
        + "2025-11-24T16:00:00.123Z ERROR [activerm-grpc-3] d.a.s.c.p.ProjectRegistry - INTERNAL\n"
        + "java.lang.IllegalStateException: boom\n");
    assertThat(code).contains("Caused by: java.lang.RuntimeException: cause")
        .endsWith("2025-11-24T16:00:00.123Z TRACE [activerm-grpc-3] d.a.s.c.p.ProjectRegistry - empty rid\n");
  }

  @Test
  void levelsAreThoseOfLogbackXml() throws Exception {
    for (String level : new String[] {null, "DEBUG", "warn", "ERROR", "TRACE", "OFF"}) {
      LoggerContext xml = fromXml(level);
      LoggerContext code = fromCode(level);
      for (String name : List.of(org.slf4j.Logger.ROOT_LOGGER_NAME, "io.grpc.netty", "io.grpc.netty.shaded.io.netty.handler",
          "io.grpc.internal", "dev.activerm.server.ActiveRmServer")) {
        assertThat(code.getLogger(name).getEffectiveLevel()).as(name + " at " + level)
            .isEqualTo(xml.getLogger(name).getEffectiveLevel());
      }
    }
    assertThat(fromCode(null).getLogger("x").getEffectiveLevel()).isEqualTo(Level.INFO);
    assertThat(fromCode("DEBUG").getLogger("io.grpc.netty.x").getEffectiveLevel()).isEqualTo(Level.WARN);
  }

  @Test
  void aMisspeltLevelLogsAtInfoAndSaysWhatToUse() {
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      assertThat(LogSetup.rootLevel("verbose")).isEqualTo(Level.INFO);
      assertThat(LogSetup.rootLevel(" ")).isEqualTo(Level.INFO);
      assertThat(LogSetup.rootLevel("debug")).isEqualTo(Level.DEBUG);
    } finally {
      System.setErr(err);
    }
    assertThat(captured.toString(StandardCharsets.UTF_8).strip()).isEqualTo(
        "activerm-server: ACTIVERM_LOG_LEVEL=VERBOSE is not a log level; use TRACE, DEBUG, INFO, WARN, ERROR or OFF. Logging at INFO.");
  }
}
