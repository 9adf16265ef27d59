package dev.activerm.server.core.project;

/**
 * Resource limits, so one caller cannot exhaust the server: exceeding one is
 * RESOURCE_EXHAUSTED with the limit in the message. 0 means no limit.
 *
 * @param maxProjects projects on the server
 * @param maxPoolBytesPerProject embedding bytes (rows x D x 4) in one project
 * @param maxCallBytes embedding bytes one AddResponses call may buffer before it commits
 */
public record Limits(long maxProjects, long maxPoolBytesPerProject, long maxCallBytes) {
  public static final Limits DEFAULT = new Limits(10_000, 0, defaultCallBytes());

  public Limits {
    if (maxProjects < 0 || maxPoolBytesPerProject < 0 || maxCallBytes < 0) {
      throw new IllegalArgumentException("limits must be >= 0 (0 means none)");
    }
  }

  /** A call is buffered in memory until it commits: a quarter of the heap at most. */
  static long defaultCallBytes() {
    return Runtime.getRuntime().maxMemory() / 4;
  }

  static boolean exceeds(long value, long limit) {
    return limit > 0 && value > limit;
  }
}
