package io.miniodb.jdbc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** PreparedStatement with parameters, for queries and for DML. */
@ExtendWith(ServerLog.class)
class PreparedStatementTest {
  private static MiniodbServer server;
  private static Connection conn;
  private static String table;

  @BeforeAll
  static void setUp() throws Exception {
    server = MiniodbServer.get();
    table = MiniodbServer.table("prep");
    StringBuilder csv = new StringBuilder("id,name,score\n");
    for (int i = 1; i <= 20; i++) {
      csv.append(i).append(",n").append(i).append(',').append(i * 0.5).append('\n');
    }
    server.loadCsv(table, csv.toString());
    conn = server.connect();
  }

  @AfterAll
  static void tearDown() throws Exception {
    if (conn != null) {
      conn.close();
    }
  }

  private static List<Long> ids(PreparedStatement ps) throws Exception {
    List<Long> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(rs.getLong(1));
      }
    }
    return out;
  }

  @Test
  void queryWithoutParameters() throws Exception {
    try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM " + table + " WHERE id <= 3 ORDER BY id")) {
      assertEquals(List.of(1L, 2L, 3L), ids(ps));
      assertEquals(List.of(1L, 2L, 3L), ids(ps)); // executed twice
    }
  }

  @Test
  void longParameterReboundAndReexecuted() throws Exception {
    try (PreparedStatement ps =
        conn.prepareStatement("SELECT id FROM " + table + " WHERE id > ? ORDER BY id")) {
      ps.setLong(1, 17);
      assertEquals(List.of(18L, 19L, 20L), ids(ps));
      ps.setLong(1, 19);
      assertEquals(List.of(20L), ids(ps));
    }
  }

  @Test
  void stringAndDoubleParameters() throws Exception {
    try (PreparedStatement ps = conn.prepareStatement(
        "SELECT id, score FROM " + table + " WHERE name = ? OR score > ? ORDER BY id")) {
      ps.setString(1, "n2");
      ps.setDouble(2, 9.6);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        assertEquals(2, rs.getLong(1));
        assertEquals(1.0, rs.getDouble(2));
        assertTrue(rs.next());
        assertEquals(20, rs.getLong(1));
        assertFalse(rs.next());
      }
    }
  }

  @Test
  void typedParameters() throws Exception {
    String t = MiniodbServer.table("prep_types");
    server.loadCsv(t, "id,flag,day,ts,price\n"
        + "1,true,2024-01-02,2024-01-02 03:04:05,1.25\n"
        + "2,false,2024-02-03,2024-02-03 04:05:06,\n");
    try (PreparedStatement ps = conn.prepareStatement(
        "SELECT id FROM " + t + " WHERE flag = ? AND day = ? AND ts < ? AND price > ?")) {
      ps.setBoolean(1, true);
      ps.setDate(2, java.sql.Date.valueOf("2024-01-02"));
      ps.setTimestamp(3, java.sql.Timestamp.valueOf("2024-06-01 00:00:00"));
      ps.setBigDecimal(4, new java.math.BigDecimal("1.00"));
      assertEquals(List.of(1L), ids(ps));
    }
    try (PreparedStatement ps =
        conn.prepareStatement("SELECT id FROM " + t + " WHERE price IS NOT DISTINCT FROM ?")) {
      ps.setNull(1, java.sql.Types.DOUBLE);
      assertEquals(List.of(2L), ids(ps));
    }
  }

  @Test
  void parameterMetaData() throws Exception {
    try (PreparedStatement ps =
        conn.prepareStatement("SELECT name FROM " + table + " WHERE id = ? AND name <> ?")) {
      ParameterMetaData pmd = ps.getParameterMetaData();
      assertEquals(2, pmd.getParameterCount());
      assertEquals(1, ps.getMetaData().getColumnCount());
      assertEquals("name", ps.getMetaData().getColumnName(1));
    }
  }

  @Test
  void insertWithParametersAndBatch() throws Exception {
    String t = MiniodbServer.table("prep_ins");
    try (Statement st = conn.createStatement()) {
      st.executeUpdate("CREATE TABLE " + t + " (id BIGINT, name VARCHAR)");
    }
    try (PreparedStatement ps = conn.prepareStatement("INSERT INTO " + t + " VALUES (?, ?)")) {
      ps.setLong(1, 1);
      ps.setString(2, "one");
      assertEquals(1, ps.executeUpdate());
      ps.setLong(1, 2);
      ps.setString(2, "two");
      ps.addBatch();
      ps.setLong(1, 3);
      ps.setString(2, "three");
      ps.addBatch();
      // The driver sends the whole batch as one parameter stream and reports one count for it.
      int[] counts = ps.executeBatch();
      assertEquals(2, java.util.Arrays.stream(counts).sum());
    }
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery("SELECT id, name FROM " + t + " ORDER BY id")) {
      List<String> got = new ArrayList<>();
      while (rs.next()) {
        got.add(rs.getLong(1) + ":" + rs.getString(2));
      }
      assertArrayEquals(new String[] {"1:one", "2:two", "3:three"}, got.toArray());
    }
  }
}
