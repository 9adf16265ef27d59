package dev.activerm.server.api;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;

/** Reads fields every request shares, for interceptors that see requests as plain messages. */
public final class RequestFields {
  private RequestFields() {}

  /** The request's project_id, or "" when it has none (ListProjects, health, reflection). */
  public static String projectId(Object request) {
    if (request instanceof Message m) {
      FieldDescriptor field = m.getDescriptorForType().findFieldByName("project_id");
      if (field != null && field.getType() == FieldDescriptor.Type.STRING) {
        return (String) m.getField(field);
      }
    }
    return "";
  }
}
