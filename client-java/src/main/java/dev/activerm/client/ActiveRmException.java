package dev.activerm.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.List;

/**
 * Every failed call: the gRPC code (never lost), the server's message (which says how to
 * fix the request) and the offending fields.
 */
public final class ActiveRmException extends RuntimeException {
  private final Status.Code code;
  private final String description;
  private final List<FieldViolation> violations;

  public ActiveRmException(Status.Code code, String description, List<FieldViolation> violations, Throwable cause) {
    super(code + ": " + description, cause);
    this.code = code;
    this.description = description;
    this.violations = List.copyOf(violations);
  }

  /** A bad field as the server named it, e.g. "response_ids[3]", and why it is bad. */
  public record FieldViolation(String field, String description) {}

  public Status.Code code() {
    return code;
  }

  /** The server's message alone, without the code. */
  public String description() {
    return description;
  }

  public List<FieldViolation> violations() {
    return violations;
  }

  static ActiveRmException from(StatusRuntimeException e) {
    Status status = e.getStatus();
    List<FieldViolation> violations = new ArrayList<>();
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    if (details != null) {
      for (Any any : details.getDetailsList()) {
        if (any.is(BadRequest.class)) {
          try {
            for (BadRequest.FieldViolation v : any.unpack(BadRequest.class).getFieldViolationsList()) {
              violations.add(new FieldViolation(v.getField(), v.getDescription()));
            }
          } catch (InvalidProtocolBufferException ignored) {
            // A detail we cannot read does not hide the code and message.
          }
        }
      }
    }
    String description = status.getDescription() == null ? "" : status.getDescription();
    return new ActiveRmException(status.getCode(), description, violations, e);
  }
}
