package dev.activerm.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * The server's default logging, set up in code: found by logback through
 * META-INF/services/ch.qos.logback.classic.spi.Configurator, it replaces reading logback.xml
 * with XML (Joran), which was 0.2-0.35 s of every start's single-threaded class loading and
 * most of its lambdas. The result is what logback.xml says (kept as the readable form and
 * the override's example; LogSetupTest checks that both give the same lines): text lines on
 * stderr with the call's request id and project, io.grpc.netty at WARN, the root level from
 * ACTIVERM_LOG_LEVEL (system property, then environment, as logback.xml's variable).
 *
 * <p>It steps aside, and logback's XML configuration runs as before, when the operator names
 * a file with {@code -Dlogback.configurationFile} (e.g. the shipped logback-json.xml) or a
 * logback-test.xml is on the class path (modules that use the server's classes in their tests).
 */
public final class LogSetup extends ContextAwareBase implements Configurator {
  /** The pattern of logback.xml, character for character. */
  static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSX,UTC} %-5level [%thread] %logger{20}"
      + "%replace( rid=%X{request_id}){' rid=$', ''}%replace( project=%X{project}){' project=$', ''} - %msg%n";
  static final String LEVEL_VARIABLE = "ACTIVERM_LOG_LEVEL";

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null
        || getClass().getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    configureText(context, name -> {
      String value = System.getProperty(name);
      return value != null ? value : System.getenv(name);
    });
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** The text configuration on {@code context}; {@code variables} reads ACTIVERM_LOG_LEVEL (null: unset). */
  static void configureText(LoggerContext context, UnaryOperator<String> variables) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(context);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    context.getLogger("io.grpc.netty").setLevel(Level.WARN);
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(rootLevel(variables.apply(LEVEL_VARIABLE)));
    root.addAppender(stderr);
  }

  /**
   * INFO when unset or blank. A value that is no level logs at INFO and says so on stderr
   * (logback.xml silently took DEBUG for a misspelt level).
   */
  static Level rootLevel(String value) {
    if (value == null || value.isBlank()) {
      return Level.INFO;
    }
    Level level = Level.toLevel(value.trim(), null);
    if (level == null) {
      System.err.println("activerm-server: " + LEVEL_VARIABLE + "=" + value.toUpperCase(Locale.ROOT)
          + " is not a log level; use TRACE, DEBUG, INFO, WARN, ERROR or OFF. Logging at INFO.");
      return Level.INFO;
    }
    return level;
  }
}
