package io.miniodb.jdbc;

import java.util.Optional;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/** After a test class with a failure, prints the tail of the shared server's log. */
public class ServerLog implements TestWatcher, AfterAllCallback {
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(ServerLog.class);

  private static void mark(ExtensionContext context) {
    context.getParent().ifPresent(p -> p.getStore(NS).put("failed", Boolean.TRUE));
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    mark(context);
  }

  @Override
  public void testAborted(ExtensionContext context, Throwable cause) {
    mark(context);
  }

  @Override
  public void testDisabled(ExtensionContext context, Optional<String> reason) {
    mark(context); // nothing in this suite may be skipped
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (Boolean.TRUE.equals(context.getStore(NS).get("failed"))) {
      MiniodbServer s = MiniodbServer.get();
      System.err.println("---- " + context.getDisplayName() + ": miniodb serve (" + s.addr()
          + ") log tail ----\n" + s.logTail(3000));
    }
  }
}
