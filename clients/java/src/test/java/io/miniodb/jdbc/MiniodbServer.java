package io.miniodb.jdbc;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One {@code miniodb serve} child process shared by every test class in the JVM, on a free
 * loopback port over a fresh temporary data folder.
 *
 * <p>The binary is {@code -Dminiodb.bin} (set by the POM, default {@code ../../bin/miniodb}) or
 * env {@code MINIODB_BIN}. The server runs under a small {@code sh} guard that reads this JVM's
 * pipe: when the JVM exits, even by SIGKILL, the pipe closes and the guard SIGTERMs the server, so
 * no run leaves a server behind.
 */
final class MiniodbServer {
  private static final long START_TIMEOUT_MS = 60_000;
  private static final AtomicInteger SEQ = new AtomicInteger();
  private static MiniodbServer shared;

  final Path binary;
  final Path dir;
  final Path log;
  private final List<String> extraArgs;
  private Process guard;
  private OutputStream guardPipe;
  int port;

  private MiniodbServer(Path binary, Path dir, List<String> extraArgs) {
    this.binary = binary;
    this.dir = dir;
    this.log = dir.resolve("server.log");
    this.extraArgs = extraArgs;
  }

  /** The suite's server, started on first use. */
  static synchronized MiniodbServer get() {
    if (shared == null) {
      shared = start();
      Runtime.getRuntime().addShutdownHook(new Thread(shared::stop));
    }
    return shared;
  }

  /** A server of its own, with extra {@code serve} arguments (e.g. --config); stop it. */
  static MiniodbServer start(String... extraArgs) {
    String bin = System.getProperty("miniodb.bin");
    if (System.getenv("MINIODB_BIN") != null && !System.getenv("MINIODB_BIN").isEmpty()) {
      bin = System.getenv("MINIODB_BIN");
    }
    if (bin == null) {
      bin = "../../bin/miniodb";
    }
    Path binary = Path.of(bin).toAbsolutePath().normalize();
    if (!Files.isExecutable(binary)) {
      throw new IllegalStateException(
          "miniodb binary not found at " + binary + ": run `make build` or set MINIODB_BIN");
    }
    try {
      MiniodbServer s =
          new MiniodbServer(binary, Files.createTempDirectory("miniodb-java-"), List.of(extraArgs));
      s.launch();
      return s;
    } catch (IOException e) {
      throw new IllegalStateException("start miniodb serve", e);
    }
  }

  private void launch() throws IOException {
    String last = "";
    for (int attempt = 0; attempt < 5; attempt++) {
      port = freePort();
      List<String> cmd = new ArrayList<>();
      cmd.add("/bin/sh");
      cmd.add("-c");
      // An asynchronous list reads /dev/null unless redirected: keep the JVM's pipe on fd 3.
      cmd.add(
          "exec 3<&0; \"$0\" \"$@\" </dev/null & pid=$!; "
              + "(read -r _ <&3; kill -TERM $pid 2>/dev/null) & wait $pid");
      cmd.add(binary.toString());
      cmd.add("serve");
      cmd.add("--data-dir");
      cmd.add(dir.resolve("data").toString());
      cmd.add("--grpc-addr");
      cmd.add(addr());
      cmd.add("--rest-addr");
      cmd.add("127.0.0.1:0");
      cmd.addAll(extraArgs);
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      guard = pb.start();
      guardPipe = guard.getOutputStream();
      if (waitListening()) {
        return;
      }
      last = logTail();
      stop();
      if (!last.contains("address already in use")) {
        break;
      }
    }
    throw new IllegalStateException("miniodb serve did not start on " + addr() + ":\n" + last);
  }

  private boolean waitListening() {
    long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
    while (System.currentTimeMillis() < deadline) {
      if (!guard.isAlive()) {
        return false;
      }
      try (Socket sock = new Socket()) {
        sock.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return true;
      } catch (IOException e) {
        sleep(50);
      }
    }
    return false;
  }

  /** SIGTERM through the guard (drain and flush), then wait. */
  synchronized void stop() {
    if (guard == null) {
      return;
    }
    try {
      guardPipe.close();
    } catch (IOException ignored) {
      // the guard already exited
    }
    try {
      if (!guard.waitFor(30, TimeUnit.SECONDS)) {
        guard.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    guard = null;
  }

  String addr() {
    return "127.0.0.1:" + port;
  }

  /** The URL a user types: no TLS, no credentials unless MINIODB_USER is set. */
  String jdbcUrl() {
    return "jdbc:arrow-flight-sql://127.0.0.1:" + port + "/?useEncryption=false";
  }

  Connection connect() throws SQLException {
    Properties props = new Properties();
    String user = System.getenv("MINIODB_USER");
    if (user != null && !user.isEmpty()) {
      props.setProperty("user", user);
      props.setProperty("password", System.getenv().getOrDefault("MINIODB_PASSWORD", ""));
    }
    return DriverManager.getConnection(jdbcUrl(), props);
  }

  /** Loads CSV text (with a header row) into a table with `miniodb load`: the ingest path. */
  void loadCsv(String table, String csv) {
    try {
      Path file = dir.resolve(table + "-" + SEQ.incrementAndGet() + ".csv");
      Files.writeString(file, csv, StandardCharsets.UTF_8);
      Process p =
          new ProcessBuilder(
                  binary.toString(), "load", file.toString(), "--table", table, "--addr", addr())
              .redirectErrorStream(true)
              .start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("miniodb load " + table + " failed:\n" + out);
      }
    } catch (IOException e) {
      throw new IllegalStateException("miniodb load " + table, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  String logTail() {
    return logTail(6000);
  }

  /** The log's notable lines (not info/debug: errors, panics, traces), then its last lines. */
  String logTail(int limit) {
    List<String> lines;
    try {
      lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
    StringBuilder notable = new StringBuilder();
    for (String l : lines) {
      if (!l.contains("\"level\":\"info\"") && !l.contains("\"level\":\"debug\"")) {
        notable.append(l).append('\n');
      }
    }
    String n = notable.length() > limit ? notable.substring(notable.length() - limit) : notable.toString();
    String last = String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    if (last.length() > 2000) {
      last = last.substring(last.length() - 2000);
    }
    return n + "-- last lines --\n" + last;
  }

  /** A fresh table name per call, within ^[a-zA-Z][a-zA-Z0-9_]{0,63}$. */
  static String table(String hint) {
    return "jv_" + hint + "_" + SEQ.incrementAndGet();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
