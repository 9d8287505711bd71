// pgjdbc (Debian's libpostgresql-jdbc-java) against a running `sigfuse serve`; scripts/test runs
// it with `java -cp /usr/share/java/postgresql.jar tests/wire/Jdbc.java PORT` (single-file source
// launch, no build step). Each check prints one line; a failure exits non-zero.
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;

public class Jdbc {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/sigfuse?user=sigfuse";
        try (Connection conn = DriverManager.getConnection(url)) {
            DatabaseMetaData meta = conn.getMetaData();
            check(meta.getDatabaseMajorVersion() == 16, "major version " + meta.getDatabaseMajorVersion());
            Set<String> tables = new HashSet<>();
            try (ResultSet rs = meta.getTables(null, "public", "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    tables.add(rs.getString("TABLE_NAME"));
                }
            }
            check(tables.containsAll(Set.of("logs", "spans", "metrics", "events")), "tables " + tables);
            Set<String> columns = new HashSet<>();
            try (ResultSet rs = meta.getColumns(null, "public", "logs", "%")) {
                while (rs.next()) {
                    columns.add(rs.getString("COLUMN_NAME"));
                }
            }
            check(columns.containsAll(Set.of("ts", "service", "body")), "columns " + columns);
            System.out.println("ok  pgjdbc: DatabaseMetaData.getTables, getColumns");

            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT count(*) FROM logs WHERE service <> ?")) {
                ps.setString(1, "nope");
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next() && rs.getLong(1) > 0, "count");
                }
            }
            // setFetchSize inside a transaction: the driver reads the result in portions.
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(100);
                int rows = 0;
                try (ResultSet rs = st.executeQuery("SELECT ts, body FROM logs LIMIT 1000")) {
                    while (rs.next()) {
                        rows++;
                    }
                }
                check(rows == 1000, "rows " + rows);
            }
            conn.commit();
            conn.setAutoCommit(true);
            System.out.println("ok  pgjdbc: prepared statement with a parameter, setFetchSize(100)");

            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT * FROM no_such_table");
                check(false, "no error");
            } catch (SQLException e) {
                check("42P01".equals(e.getSQLState()), "state " + e.getSQLState());
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                check(rs.next() && rs.getInt(1) == 1, "after error");
            }
            System.out.println("ok  pgjdbc: SQLSTATE 42P01, connection usable after the error");
        }
    }
}
