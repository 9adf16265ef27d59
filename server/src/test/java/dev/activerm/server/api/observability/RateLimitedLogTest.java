package dev.activerm.server.api.observability;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import static org.assertj.core.api.Assertions.assertThat;

class RateLimitedLogTest {
  @Test
  void writesTheBudgetPerWindowThenCountsWhatItLeftOut() {
    Logger logger = (Logger) LoggerFactory.getLogger("rate-limited-log-test");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    AtomicLong now = new AtomicLong();
    RateLimitedLog log = new RateLimitedLog(logger, 3, Duration.ofSeconds(60), now::get);
    for (int i = 0; i < 100; i++) {
      log.warn("bad call {}", i);
    }
    assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("bad call 0", "bad call 1", "bad call 2");
    now.addAndGet(Duration.ofSeconds(60).toNanos());
    log.error("bad call {}", 100);
    assertThat(lines.list).extracting(ILoggingEvent::getFormattedMessage).hasSize(5).endsWith(
        "97 more lines like the next were left out (at most 3 are written per 60 s)", "bad call 100");
    logger.detachAppender(lines);
  }
}
