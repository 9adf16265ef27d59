package dev.activerm.server.api;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.Code;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.store.StoreException;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import dev.activerm.server.api.observability.RateLimitedLog;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that turns failures into gRPC statuses (AIP-193): domain exceptions keep
 * their code, message and field violations (as google.rpc.BadRequest); anything
 * unexpected is INTERNAL and logged with its stack trace. A call core stopped because its
 * caller went away is DEADLINE_EXCEEDED or CANCELLED. Expected failures are logged
 * quietly, at debug; unexpected ones at error with their stack trace, at most
 * {@link #ERROR_LINES_PER_MINUTE} a minute (a client that found one can repeat it at will).
 * Messages and field violations are bounded ({@link #MAX_MESSAGE_CHARS},
 * {@link #MAX_VIOLATION_CHARS}) so the status fits the 8 KiB of trailers clients accept.
 */
public final class ErrorMapper {
  private static final Logger log = LoggerFactory.getLogger(ErrorMapper.class);
  /** Unexpected-error lines (with stack trace) logged per minute; the rest are counted in a summary line. */
  public static final int ERROR_LINES_PER_MINUTE = 10;
  /** Longest status message sent; the rest is cut with a note of the full length. */
  static final int MAX_MESSAGE_CHARS = 1500;
  /** Most characters of field names and descriptions sent in one BadRequest. */
  static final int MAX_VIOLATION_CHARS = 1500;
  private static final RateLimitedLog unexpected =
      new RateLimitedLog(log, ERROR_LINES_PER_MINUTE, Duration.ofMinutes(1));

  private ErrorMapper() {}

  public static StatusRuntimeException toStatus(String method, Throwable t) {
    if (t instanceof StatusRuntimeException sre) {
      return sre;
    }
    if (t instanceof ActiveRmException e) {
      log.debug("{} failed: {} {}", method, e.kind(), e.getMessage());
      com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
          .setCode(code(e.kind()).getNumber())
          .setMessage(bounded(e.getMessage(), MAX_MESSAGE_CHARS));
      if (!e.violations().isEmpty()) {
        BadRequest.Builder bad = BadRequest.newBuilder();
        int chars = 0;
        for (FieldViolation v : e.violations()) {
          String field = bounded(v.field(), 200);
          String description = bounded(v.description(), 400);
          chars += field.length() + description.length();
          if (chars > MAX_VIOLATION_CHARS) {
            break; // the message lists the rest, or says how many more there are
          }
          bad.addFieldViolations(BadRequest.FieldViolation.newBuilder().setField(field).setDescription(description));
        }
        status.addDetails(Any.pack(bad.build()));
      }
      return StatusProto.toStatusRuntimeException(status.build());
    }
    if (t instanceof CancelledException e) {
      // Core only knows the caller went away; the call's context says whether by deadline.
      Deadline deadline = Context.current().getDeadline();
      boolean expired = deadline != null && deadline.isExpired();
      log.debug("{} stopped: {}", method, e.getMessage());
      return (expired ? Status.DEADLINE_EXCEEDED : Status.CANCELLED)
          .withDescription(e.getMessage() + "; nothing was stored")
          .asRuntimeException();
    }
    if (t instanceof StoreException e && e.diskFull()) {
      // The operator's problem, not a bug: one line, no stack trace; the call can be retried.
      log.warn("{} refused: {}", method, e.getMessage());
      return Status.RESOURCE_EXHAUSTED.withDescription(StoreException.DISK_FULL).asRuntimeException();
    }
    if (t instanceof StoreException e && e.damaged()) {
      // A pool block failed its checksum on first read: no row of it was served. The message
      // names the file and bytes and how to restore them; the operator needs it in the log too.
      log.error("{} refused: {}", method, e.getMessage());
      return Status.DATA_LOSS.withDescription(bounded(e.getMessage(), MAX_MESSAGE_CHARS)).asRuntimeException();
    }
    if (t instanceof IllegalArgumentException) {
      log.debug("{} failed: {}", method, t.getMessage());
      return Status.INVALID_ARGUMENT.withDescription(bounded(t.getMessage(), MAX_MESSAGE_CHARS)).asRuntimeException();
    }
    if (t instanceof OutOfMemoryError) {
      unexpected.error("{} ran out of memory", method, t);
      return Status.RESOURCE_EXHAUSTED
          .withDescription("the server ran out of memory for this call; send smaller calls or give the server more heap (-Xmx)")
          .asRuntimeException();
    }
    unexpected.error("{} failed unexpectedly", method, t);
    return Status.INTERNAL
        .withDescription(method + " failed inside the server (" + t.getClass().getSimpleName()
            + "); nothing was acknowledged. The server log has the details.")
        .asRuntimeException();
  }

  /** Text cut to max characters with a note of its full length (newlines kept: messages list violations). */
  static String bounded(String s, int max) {
    if (s == null || s.length() <= max) {
      return s;
    }
    return s.substring(0, max) + "…(" + s.length() + " chars; cut)";
  }

  private static Code code(ActiveRmException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Code.INVALID_ARGUMENT;
      case NOT_FOUND -> Code.NOT_FOUND;
      case ALREADY_EXISTS -> Code.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> Code.FAILED_PRECONDITION;
      case RESOURCE_EXHAUSTED -> Code.RESOURCE_EXHAUSTED;
      case ABORTED -> Code.ABORTED;
    };
  }
}
