package io.miniodb.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Connecting through DriverManager the way users and tools do. */
@ExtendWith(ServerLog.class)
class ConnectionTest {
  private final MiniodbServer server = MiniodbServer.get();

  @Test
  void driverIsRegisteredForTheUrl() throws Exception {
    Driver d = DriverManager.getDriver(server.jdbcUrl());
    assertTrue(d.acceptsURL(server.jdbcUrl()));
    assertEquals("org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver", d.getClass().getName());
  }

  @Test
  void connectsAndIsValid() throws Exception {
    try (Connection c = server.connect()) {
      assertFalse(c.isClosed());
      assertTrue(c.isValid(5));
      assertNotNull(c.getMetaData());
    }
  }

  @Test
  void firstQueryOnAFreshConnection() throws Exception {
    try (Connection c = server.connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT 1 AS one")) {
      assertTrue(rs.next());
      assertEquals(1, rs.getInt("one"));
      assertFalse(rs.next());
    }
  }

  /** What DBeaver's execution context does right after connecting. */
  @Test
  void autoCommitAndIsolationAsToolsSetThem() throws Exception {
    try (Connection c = server.connect()) {
      c.setAutoCommit(true);
      assertTrue(c.getAutoCommit());
      assertEquals(Connection.TRANSACTION_NONE, c.getMetaData().getDefaultTransactionIsolation());
      c.getTransactionIsolation();
      c.isReadOnly();
      c.getCatalog();
      c.getSchema();
      c.getClientInfo();
      c.getWarnings();
      c.clearWarnings();
      c.commit(); // auto-commit: nothing to do, must not fail
    }
  }

  /** The driver's catalog property becomes SetSessionOptions at connect, CloseSession at close. */
  @Test
  void catalogPropertyIsASessionOption() throws Exception {
    String catalog;
    try (Connection c = server.connect(); ResultSet rs = c.getMetaData().getCatalogs()) {
      assertTrue(rs.next(), "getCatalogs is empty");
      catalog = rs.getString("TABLE_CAT");
    }
    Connection c = DriverManager.getConnection(server.jdbcUrl() + "&catalog=" + catalog);
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 3 AS three")) {
      assertTrue(rs.next());
      assertEquals(3, rs.getInt(1));
    }
    closeWithCatalog(c);
    // An unknown catalog is refused at connect or first use (not merely at close).
    Exception refused = assertThrows(Exception.class, () -> {
      Connection bad = DriverManager.getConnection(server.jdbcUrl() + "&catalog=no_such_catalog_jv");
      try (Statement st = bad.createStatement()) {
        st.executeQuery("SELECT 1").close();
      } finally {
        closeWithCatalog(bad);
      }
    });
    assertTrue(String.valueOf(refused.getMessage()).contains("no_such_catalog_jv"), refused.toString());
  }

  /**
   * Driver 18.3.0 closes its client handler twice when the catalog property is set
   * (ArrowFlightConnection.close): the first close sends CloseSession, the second sends it again
   * on the closed channel and fails with "Channel shutdown invoked". Only that error is tolerated.
   */
  private static void closeWithCatalog(Connection c) throws SQLException {
    try {
      c.close();
    } catch (SQLException e) {
      if (!String.valueOf(e.getMessage()).contains("Channel shutdown invoked")) {
        throw e;
      }
    }
  }

  @Test
  void manyConnectionsInSequence() throws Exception {
    for (int i = 0; i < 5; i++) {
      try (Connection c = server.connect();
          Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT " + i + " AS v")) {
        assertTrue(rs.next());
        assertEquals(i, rs.getInt(1));
      }
    }
  }
}
