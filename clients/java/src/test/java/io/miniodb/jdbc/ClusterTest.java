package io.miniodb.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The JDBC driver against three nodes on one real Redis and one real MinIO: rows loaded through
 * one node are placed on every node, and a plain scan through another comes back as one endpoint
 * per node, which the driver fetches from each node's location. redis-server comes from PATH and
 * MinIO from {@code -Dminiodb.minio} (built by {@code make deps}); either missing fails the run.
 */
class ClusterTest {
  private static final int ROWS = 3000;
  private static Guarded redis;
  private static Guarded minio;
  private static final List<MiniodbServer> nodes = new ArrayList<>();

  @BeforeAll
  static void startCluster() throws Exception {
    Path dir = Files.createTempDirectory("miniodb-java-cluster-");
    int rport = freePort();
    int mport = freePort();
    redis = new Guarded(dir.resolve("redis.log"), rport, "redis-server", "--port", "" + rport,
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
    String minioBin = System.getProperty("miniodb.minio", "");
    if (minioBin.isEmpty() || !Files.isExecutable(Path.of(minioBin))) {
      throw new IllegalStateException("MinIO not found at '" + minioBin + "': run `make deps`");
    }
    Files.createDirectories(dir.resolve("minio"));
    minio = new Guarded(dir.resolve("minio.log"), mport, "env", "MINIO_ROOT_USER=jvadmin",
        "MINIO_ROOT_PASSWORD=jvadmin-secret", minioBin, "server", "--address", "127.0.0.1:" + mport,
        dir.resolve("minio").toString());
    for (int i = 0; i < 3; i++) {
      Path cfg = dir.resolve("node" + i + ".yaml");
      Files.writeString(cfg, "server:\n  node_id: jv-node-" + i + "\n"
          + "redis:\n  addr: 127.0.0.1:" + rport + "\n  namespace: jv\n"
          + "minio:\n  endpoint: 127.0.0.1:" + mport + "\n  access_key_id: jvadmin\n"
          + "  secret_access_key: jvadmin-secret\n  bucket: jv-cluster\n"
          + "cluster:\n  lease: 2s\nbuffer:\n  flush_interval: 1h\n", StandardCharsets.UTF_8);
      nodes.add(MiniodbServer.start("--config", cfg.toString()));
    }
    // Every node must see the others before a load is placed on all of them.
    Thread.sleep(1500);
  }

  @AfterAll
  static void stopCluster() {
    nodes.forEach(MiniodbServer::stop);
    if (minio != null) {
      minio.stop();
    }
    if (redis != null) {
      redis.stop();
    }
  }

  @Test
  void plainScanFetchesEveryNodesPart() throws Exception {
    StringBuilder csv = new StringBuilder("id,v\n");
    for (int i = 0; i < ROWS; i++) {
      csv.append(i).append(",v").append(i).append('\n');
    }
    nodes.get(0).loadCsv("jv_cluster", csv.toString());
    try (Connection c = nodes.get(2).connect()) {
      long n = 0;
      long sum = 0;
      Set<Long> ids = new HashSet<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT id, v FROM jv_cluster WHERE id % 2 = 0")) {
        while (rs.next()) {
          n++;
          sum += rs.getLong(1);
          ids.add(rs.getLong(1));
        }
      }
      assertEquals(ROWS / 2, n);
      assertEquals(ROWS / 2, ids.size());
      long want = 0;
      for (int i = 0; i < ROWS; i += 2) {
        want += i;
      }
      assertEquals(want, sum);
      try (PreparedStatement p = c.prepareStatement("SELECT count(*), sum(id) FROM jv_cluster");
          ResultSet rs = p.executeQuery()) {
        assertTrue(rs.next());
        assertEquals(ROWS, rs.getLong(1));
        assertEquals((long) ROWS * (ROWS - 1) / 2, rs.getLong(2));
      }
    }
  }

  /** A store process that dies with this JVM (the guard pattern of MiniodbServer). */
  static final class Guarded {
    private final Process guard;
    private final OutputStream pipe;

    Guarded(Path log, int port, String... cmd) throws IOException, InterruptedException {
      List<String> args = new ArrayList<>(List.of("/bin/sh", "-c",
          "exec 3<&0; \"$0\" \"$@\" </dev/null & pid=$!; (read -r _ <&3; kill -TERM $pid 2>/dev/null) & wait $pid"));
      args.addAll(List.of(cmd));
      ProcessBuilder pb = new ProcessBuilder(args);
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.directory(log.getParent().toFile());
      guard = pb.start();
      pipe = guard.getOutputStream();
      long deadline = System.currentTimeMillis() + 60_000;
      while (System.currentTimeMillis() < deadline) {
        if (!guard.isAlive()) {
          break;
        }
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 200);
          return;
        } catch (IOException e) {
          Thread.sleep(50);
        }
      }
      throw new IllegalStateException(cmd[0] + " did not start:\n" + Files.readString(log));
    }

    void stop() {
      try {
        pipe.close();
        if (!guard.waitFor(30, TimeUnit.SECONDS)) {
          guard.destroyForcibly();
        }
      } catch (IOException | InterruptedException ignored) {
        guard.destroyForcibly();
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
