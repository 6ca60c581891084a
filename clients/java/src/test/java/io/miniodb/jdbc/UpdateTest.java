package io.miniodb.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * executeUpdate for DDL and DML. The driver prepares every statement and sends those whose
 * dataset schema is empty through DoPut PreparedStatementUpdate.
 */
@ExtendWith(ServerLog.class)
class UpdateTest {
  private static MiniodbServer server;
  private static Connection conn;

  @BeforeAll
  static void setUp() throws Exception {
    server = MiniodbServer.get();
    conn = server.connect();
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (conn != null) {
      conn.close();
    }
  }

  private static long count(String table) throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
      assertTrue(rs.next());
      return rs.getLong(1);
    }
  }

  private static boolean listed(String table) throws Exception {
    try (ResultSet rs = conn.getMetaData().getTables(null, null, table, null)) {
      return rs.next();
    }
  }

  @Test
  void createInsertSelectDrop() throws Exception {
    String t = MiniodbServer.table("upd");
    try (Statement st = conn.createStatement()) {
      assertEquals(0, st.executeUpdate("CREATE TABLE " + t + " (id BIGINT, name VARCHAR, score DOUBLE)"));
      assertEquals(0, count(t));
      assertTrue(listed(t));
      assertEquals(2, st.executeUpdate("INSERT INTO " + t + " VALUES (1, 'a', 0.5), (2, 'b', 1.5)"));
      assertEquals(2, st.executeUpdate("INSERT INTO " + t + " SELECT id + 10, upper(name), score * 2 FROM " + t));
      try (ResultSet rs = st.executeQuery("SELECT id, name, score FROM " + t + " ORDER BY id")) {
        StringBuilder got = new StringBuilder();
        while (rs.next()) {
          got.append(rs.getLong(1)).append(rs.getString(2)).append(rs.getDouble(3)).append(';');
        }
        assertEquals("1a0.5;2b1.5;11A1.0;12B3.0;", got.toString());
      }
      st.executeUpdate("DROP TABLE " + t);
      assertFalse(listed(t));
      SQLException gone = assertThrows(SQLException.class, () -> count(t));
      assertTrue(String.valueOf(gone.getMessage()).contains(t), gone.getMessage());
      st.executeUpdate("DROP TABLE IF EXISTS " + t);
      assertThrows(SQLException.class, () -> st.executeUpdate("DROP TABLE " + t));
    }
  }

  @Test
  void createTableRefusesDuplicates() throws Exception {
    String t = MiniodbServer.table("dup");
    try (Statement st = conn.createStatement()) {
      st.executeUpdate("CREATE TABLE " + t + " (id BIGINT)");
      SQLException e =
          assertThrows(SQLException.class, () -> st.executeUpdate("CREATE TABLE " + t + " (id BIGINT)"));
      assertTrue(String.valueOf(e.getMessage()).contains(t), e.getMessage());
      st.executeUpdate("CREATE TABLE IF NOT EXISTS " + t + " (id BIGINT)");
    }
  }

  @Test
  void statementExecuteForDdl() throws Exception {
    String t = MiniodbServer.table("exec");
    try (Statement st = conn.createStatement()) {
      assertFalse(st.execute("CREATE TABLE " + t + " (id BIGINT)"));
      assertFalse(st.execute("INSERT INTO " + t + " VALUES (7)"));
      assertEquals(1, st.getUpdateCount());
      assertEquals(1, count(t));
      assertFalse(st.execute("DROP TABLE " + t));
    }
  }

  @Test
  void insertIntoLoadedTable() throws Exception {
    String t = MiniodbServer.table("loaded");
    server.loadCsv(t, "id,name\n1,x\n");
    try (Statement st = conn.createStatement()) {
      assertEquals(1, st.executeUpdate("INSERT INTO " + t + " VALUES (2, 'y')"));
    }
    assertEquals(2, count(t));
  }

  @Test
  void sandboxStillApplies() throws Exception {
    String t = MiniodbServer.table("sandbox");
    Path out = Files.createTempDirectory("miniodb-jv-sandbox").resolve("copy.csv");
    try (Statement st = conn.createStatement()) {
      st.executeUpdate("CREATE TABLE " + t + " (id BIGINT)"); // the path itself works
      assertThrows(SQLException.class,
          () -> st.executeUpdate("COPY (SELECT 1) TO '" + out + "'"));
      assertThrows(SQLException.class,
          () -> st.executeUpdate("CREATE TABLE " + t + "_f AS SELECT * FROM read_csv('/etc/passwd')"));
      assertThrows(SQLException.class, () -> st.executeUpdate("INSTALL httpfs"));
    }
    assertFalse(Files.exists(out));
    DatabaseMetaData md = conn.getMetaData();
    try (ResultSet rs = md.getTables(null, null, t + "_f", null)) {
      assertFalse(rs.next());
    }
  }
}
