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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that turns failures into gRPC statuses (AIP-193): domain exceptions keep
 * their code, message and field violations (as google.rpc.BadRequest); anything
 * unexpected is INTERNAL and logged with its stack trace. A call core stopped because its
 * caller went away is DEADLINE_EXCEEDED or CANCELLED. Expected failures are logged
 * quietly, at debug.
 */
public final class ErrorMapper {
  private static final Logger log = LoggerFactory.getLogger(ErrorMapper.class);

  private ErrorMapper() {}

  public static StatusRuntimeException toStatus(String method, Throwable t) {
    if (t instanceof StatusRuntimeException sre) {
      return sre;
    }
    if (t instanceof ActiveRmException e) {
      log.debug("{} failed: {} {}", method, e.kind(), e.getMessage());
      com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
          .setCode(code(e.kind()).getNumber())
          .setMessage(e.getMessage());
      if (!e.violations().isEmpty()) {
        BadRequest.Builder bad = BadRequest.newBuilder();
        for (FieldViolation v : e.violations()) {
          bad.addFieldViolations(
              BadRequest.FieldViolation.newBuilder().setField(v.field()).setDescription(v.description()));
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
    if (t instanceof IllegalArgumentException) {
      log.debug("{} failed: {}", method, t.getMessage());
      return Status.INVALID_ARGUMENT.withDescription(t.getMessage()).asRuntimeException();
    }
    if (t instanceof OutOfMemoryError) {
      log.error("{} ran out of memory", method, t);
      return Status.RESOURCE_EXHAUSTED
          .withDescription("the server ran out of memory for this call; send smaller calls or give the server more heap (-Xmx)")
          .asRuntimeException();
    }
    log.error("{} failed unexpectedly", method, t);
    return Status.INTERNAL
        .withDescription(method + " failed inside the server (" + t.getClass().getSimpleName()
            + "); nothing was acknowledged. The server log has the details.")
        .asRuntimeException();
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
