package io.miniodb.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The JDBC driver over TLS and mTLS against TLS-only nodes. The test CA and certificates are made
 * at test time with the JDK's keytool (the server's key is exported from its PKCS12 store with
 * the KeyStore API); no key is committed.
 */
class TlsTest {
  private static final String PASS = "changeit";
  private static Path pki;
  private static MiniodbServer tls;
  private static MiniodbServer mtls;

  @BeforeAll
  static void startNodes() throws Exception {
    pki = Files.createTempDirectory("miniodb-java-pki-");
    keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=jdbc-test-ca", "-ext", "bc:c", "-validity", "2",
        "-keystore", p("ca.p12"), "-storetype", "PKCS12", "-storepass", PASS);
    keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", p("ca.p12"),
        "-storepass", PASS, "-file", p("ca.pem"));
    issue("server", "san=ip:127.0.0.1,dns:localhost", "eku=serverAuth");
    issue("jdbc-etl", null, "eku=clientAuth");

    tls = MiniodbServer.start("--config", config("tls.yaml", "security:\n  enable_tls: true\n"
        + "  tls: {cert_file: '" + p("server.pem") + "', key_file: '" + p("server.key") + "'}\n"));
    mtls = MiniodbServer.start("--config", config("mtls.yaml", "security:\n  mode: auth\n"
        + "  enable_tls: true\n  tls: {cert_file: '" + p("server.pem") + "', key_file: '"
        + p("server.key") + "', client_ca_file: '" + p("ca.pem") + "'}\n"
        + "  client_certs:\n    - {name: jdbc-etl, roles: [admin]}\n"));
  }

  @AfterAll
  static void stopNodes() {
    for (MiniodbServer s : new MiniodbServer[] {tls, mtls}) {
      if (s != null) {
        s.stop();
      }
    }
  }

  private static String p(String name) {
    return pki.resolve(name).toString();
  }

  private static String config(String name, String yaml) throws IOException {
    Files.writeString(pki.resolve(name), yaml, StandardCharsets.UTF_8);
    return p(name);
  }

  /** A key pair for cn in cn.p12, its certificate signed by the CA in cn.pem, its key in cn.key. */
  private static void issue(String cn, String san, String eku) throws Exception {
    String store = p(cn + ".p12");
    keytool("-genkeypair", "-alias", cn, "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=" + cn, "-validity", "2", "-keystore", store, "-storetype", "PKCS12",
        "-storepass", PASS);
    keytool("-certreq", "-alias", cn, "-keystore", store, "-storepass", PASS,
        "-file", p(cn + ".csr"));
    List<String> gen = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca",
        "-keystore", p("ca.p12"), "-storepass", PASS, "-infile", p(cn + ".csr"),
        "-outfile", p(cn + ".pem"), "-validity", "2", "-ext", eku));
    if (san != null) {
      gen.add("-ext");
      gen.add(san);
    }
    keytool(gen.toArray(new String[0]));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(store)) {
      ks.load(in, PASS.toCharArray());
    }
    Key key = ks.getKey(cn, PASS.toCharArray());
    String pem = "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(key.getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
    Files.writeString(pki.resolve(cn + ".key"), pem, StandardCharsets.US_ASCII);
  }

  private static void keytool(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    cmd.addAll(List.of(args));
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    proc.getOutputStream().close();
    String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!proc.waitFor(60, TimeUnit.SECONDS) || proc.exitValue() != 0) {
      throw new IllegalStateException("keytool " + String.join(" ", args) + ":\n" + out);
    }
  }

  /** The TLS URL as README shows it: encryption on, the node's CA as the trusted root. */
  private static String tlsUrl(MiniodbServer s) {
    return "jdbc:arrow-flight-sql://127.0.0.1:" + s.port
        + "/?useEncryption=true&useSystemTrustStore=false&tlsRootCerts=" + p("ca.pem");
  }

  private static long scalar(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getLong(1);
    }
  }

  @Test
  void queriesOverTls() throws Exception {
    String table = MiniodbServer.table("tls");
    try (Connection c = DriverManager.getConnection(tlsUrl(tls), new Properties())) {
      try (Statement st = c.createStatement()) {
        st.executeUpdate("CREATE TABLE " + table + " (id BIGINT, v VARCHAR)");
        assertEquals(3, st.executeUpdate(
            "INSERT INTO " + table + " VALUES (1, 'a'), (2, 'b'), (3, 'c')"));
      }
      assertEquals(6, scalar(c, "SELECT sum(id) FROM " + table));
    }
  }

  @Test
  void plaintextAndUntrustedConnectionsFail() {
    String plain = "jdbc:arrow-flight-sql://127.0.0.1:" + tls.port + "/?useEncryption=false";
    assertThrows(SQLException.class, () -> {
      try (Connection c = DriverManager.getConnection(plain, new Properties())) {
        scalar(c, "SELECT 1");
      }
    });
    String systemTrust = "jdbc:arrow-flight-sql://127.0.0.1:" + tls.port + "/?useEncryption=true";
    assertThrows(SQLException.class, () -> {
      try (Connection c = DriverManager.getConnection(systemTrust, new Properties())) {
        scalar(c, "SELECT 1");
      }
    });
  }

  @Test
  void clientCertificateIsTheIdentity() throws Exception {
    String url = tlsUrl(mtls) + "&clientCertificate=" + p("jdbc-etl.pem")
        + "&clientKey=" + p("jdbc-etl.key");
    String table = MiniodbServer.table("mtls");
    try (Connection c = DriverManager.getConnection(url, new Properties())) { // no user/password
      try (Statement st = c.createStatement()) {
        st.executeUpdate("CREATE TABLE " + table + " (id BIGINT)");
        assertEquals(2, st.executeUpdate("INSERT INTO " + table + " VALUES (7), (8)"));
      }
      assertEquals(8, scalar(c, "SELECT max(id) FROM " + table));
    }
  }
}
