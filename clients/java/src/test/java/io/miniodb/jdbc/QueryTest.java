package io.miniodb.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Statement.executeQuery over data loaded through the ingest path. */
@ExtendWith(ServerLog.class)
class QueryTest {
  private static MiniodbServer server;
  private static Connection conn;
  private static String table;
  private static String big;
  private static final int BIG_ROWS = 70_000;

  @BeforeAll
  static void setUp() throws Exception {
    server = MiniodbServer.get();
    table = MiniodbServer.table("query");
    server.loadCsv(
        table,
        "id,name,score,ok,ts\n"
            + "1,alpha,1.5,true,2024-01-02 03:04:05\n"
            + "2,beta,2.5,false,2024-02-03 04:05:06\n"
            + "3,gamma,,true,2024-03-04 05:06:07\n"
            + "4,delta,4.5,,\n");
    big = MiniodbServer.table("big");
    StringBuilder csv = new StringBuilder("id,payload\n");
    String pad = "p".repeat(100);
    for (int i = 0; i < BIG_ROWS; i++) {
      csv.append(i).append(',').append(pad).append(i).append('\n');
    }
    server.loadCsv(big, csv.toString());
    conn = server.connect();
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (conn != null) {
      conn.close();
    }
  }

  @Test
  void selectAllWithGetters() throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT id, name, score, ok, ts FROM " + table + " ORDER BY id")) {
      assertTrue(rs.next());
      assertEquals(1L, rs.getLong("id"));
      assertEquals("alpha", rs.getString("name"));
      assertEquals(1.5, rs.getDouble("score"));
      assertTrue(rs.getBoolean("ok"));
      assertEquals(Timestamp.valueOf(LocalDateTime.of(2024, 1, 2, 3, 4, 5)), rs.getTimestamp("ts"));
      assertTrue(rs.next());
      assertEquals("beta", rs.getString(2));
      assertFalse(rs.getBoolean(4));
      assertTrue(rs.next());
      rs.getDouble("score");
      assertTrue(rs.wasNull());
      assertTrue(rs.next());
      assertEquals(4, rs.getInt("id"));
      assertEquals(null, rs.getObject("ok"));
      assertEquals(null, rs.getTimestamp("ts"));
      assertFalse(rs.next());
    }
  }

  @Test
  void resultSetMetaData() throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT id, name, score, ok, ts FROM " + table)) {
      ResultSetMetaData m = rs.getMetaData();
      assertEquals(5, m.getColumnCount());
      assertEquals("id", m.getColumnName(1));
      assertEquals("name", m.getColumnLabel(2));
      assertEquals(Types.BIGINT, m.getColumnType(1));
      assertEquals(Types.VARCHAR, m.getColumnType(2));
      assertEquals(Types.DOUBLE, m.getColumnType(3));
      assertEquals(Types.BOOLEAN, m.getColumnType(4));
      assertEquals(Types.TIMESTAMP, m.getColumnType(5));
    }
  }

  @Test
  void aggregatesAndExpressions() throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT count(*) AS n, sum(id) AS s, max(name) AS m, avg(score) AS a, "
                + "count(ok) AS oks FROM " + table)) {
      assertTrue(rs.next());
      assertEquals(4, rs.getLong("n"));
      assertEquals(10, rs.getLong("s"));
      assertEquals("gamma", rs.getString("m"));
      assertEquals((1.5 + 2.5 + 4.5) / 3, rs.getDouble("a"), 1e-9);
      assertEquals(3, rs.getLong("oks"));
    }
  }

  @Test
  void execute() throws Exception {
    try (Statement st = conn.createStatement()) {
      assertTrue(st.execute("SELECT name FROM " + table + " WHERE id = 3"));
      try (ResultSet rs = st.getResultSet()) {
        assertTrue(rs.next());
        assertEquals("gamma", rs.getString(1));
      }
    }
  }

  @Test
  void largeResultStreamsThrough() throws Exception {
    long rows = 0;
    long sum = 0;
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT id, payload FROM " + big)) {
      while (rs.next()) {
        rows++;
        sum += rs.getLong(1);
        if (rows == 1) {
          assertTrue(rs.getString(2).startsWith("ppp"));
        }
      }
    }
    assertEquals(BIG_ROWS, rows);
    assertEquals((long) BIG_ROWS * (BIG_ROWS - 1) / 2, sum);
  }

  @Test
  void maxRowsIsHonoured() throws Exception {
    try (Statement st = conn.createStatement()) {
      st.setMaxRows(10);
      List<Long> ids = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("SELECT id FROM " + big + " ORDER BY id")) {
        while (rs.next()) {
          ids.add(rs.getLong(1));
        }
      }
      assertEquals(10, ids.size());
      assertEquals(0L, ids.get(0));
    }
  }

  /**
   * An empty result still describes its columns (from the prepared dataset schema). Driver 18.3.0
   * lists them twice when no endpoint has a row (getColumnCount() is 4 here), so only the leading
   * ones are checked.
   */
  @Test
  void emptyResultStillDescribesItsColumns() throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT id, name FROM " + table + " WHERE id < 0")) {
      ResultSetMetaData m = rs.getMetaData();
      assertTrue(m.getColumnCount() >= 2);
      assertEquals("id", m.getColumnName(1));
      assertEquals(Types.BIGINT, m.getColumnType(1));
      assertEquals("name", m.getColumnName(2));
      assertEquals(Types.VARCHAR, m.getColumnType(2));
      assertFalse(rs.next());
    }
  }

  @Test
  void moreTypes() throws Exception {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT DATE '2024-02-29' AS d, CAST(12.34 AS DECIMAL(10,2)) AS dec, "
                + "'h\u00e9llo \u4e16\u754c' AS u, CAST(7 AS SMALLINT) AS s, CAST(NULL AS VARCHAR) AS n")) {
      assertTrue(rs.next());
      assertEquals(java.sql.Date.valueOf("2024-02-29"), rs.getDate("d"));
      assertEquals(new java.math.BigDecimal("12.34"), rs.getBigDecimal("dec"));
      assertEquals("h\u00e9llo \u4e16\u754c", rs.getString("u"));
      assertEquals(7, rs.getShort("s"));
      assertEquals(null, rs.getString("n"));
      assertTrue(rs.wasNull());
    }
  }

  /** What DBeaver's data viewer sends: names qualified with the schema, or catalog and schema. */
  @Test
  void qualifiedNamesAsToolsGenerateThem() throws Exception {
    String catalog;
    String schema;
    try (ResultSet rs = conn.getMetaData().getTables(null, null, table, null)) {
      assertTrue(rs.next());
      catalog = rs.getString("TABLE_CAT");
      schema = rs.getString("TABLE_SCHEM");
    }
    for (String name :
        new String[] {
          schema + "." + table,
          "\"" + schema + "\".\"" + table + "\"",
          catalog + "." + schema + "." + table,
          "\"" + catalog + "\".\"" + schema + "\".\"" + table + "\""
        }) {
      try (Statement st = conn.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) FROM " + name)) {
        assertTrue(rs.next(), name);
        assertEquals(4, rs.getLong(1), name);
      }
    }
  }

  @Test
  void errorsNameTheCulprit() throws Exception {
    try (Statement st = conn.createStatement()) {
      SQLException e1 =
          assertThrows(SQLException.class, () -> st.executeQuery("SELECT * FROM no_such_table_jv"));
      assertTrue(String.valueOf(e1.getMessage()).contains("no_such_table_jv"), e1.getMessage());
      SQLException e2 = assertThrows(SQLException.class, () -> st.executeQuery("SELEC 1"));
      assertTrue(String.valueOf(e2.getMessage()).toLowerCase().contains("syntax"), e2.getMessage());
    }
    // The connection survives errors.
    try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 2")) {
      assertTrue(rs.next());
      assertEquals(2, rs.getInt(1));
    }
  }
}
