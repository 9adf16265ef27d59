package dev.activerm.server.api.observability;

import java.time.Duration;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * A log line that callers can trigger at will (bad bytes, bad keys): at most {@code budget}
 * lines per window; past it lines are counted, not written, and the first line of a later
 * window says how many were left out. So a flood costs a bounded number of lines per minute
 * whatever its rate.
 */
public final class RateLimitedLog {
  private final Logger log;
  private final int budget;
  private final long windowNanos;
  private final LongSupplier nanoClock;
  private long windowStart;
  private int written;
  private long suppressed;

  public RateLimitedLog(Logger log, int budget, Duration window) {
    this(log, budget, window, System::nanoTime);
  }

  RateLimitedLog(Logger log, int budget, Duration window, LongSupplier nanoClock) {
    this.log = log;
    this.budget = budget;
    this.windowNanos = window.toNanos();
    this.nanoClock = nanoClock;
    this.windowStart = nanoClock.getAsLong();
  }

  /** A WARN line, if the window's budget allows (the last argument may be a Throwable). */
  public void warn(String format, Object... args) {
    write(false, format, args);
  }

  /** An ERROR line, if the window's budget allows (the last argument may be a Throwable). */
  public void error(String format, Object... args) {
    write(true, format, args);
  }

  private void write(boolean error, String format, Object... args) {
    long left = 0;
    boolean write;
    synchronized (this) {
      long now = nanoClock.getAsLong();
      if (now - windowStart >= windowNanos) {
        left = suppressed;
        windowStart = now;
        written = 0;
        suppressed = 0;
      }
      write = written < budget;
      if (write) {
        written++;
      } else {
        suppressed++;
      }
    }
    if (left > 0) {
      long seconds = windowNanos / 1_000_000_000L;
      log.warn("{} more lines like the next were left out (at most {} are written per {} s)", left, budget, seconds);
    }
    if (write && error) {
      log.error(format, args);
    } else if (write) {
      log.warn(format, args);
    }
  }
}
