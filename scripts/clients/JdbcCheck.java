// JdbcCheck connects to eventsql with a JDBC driver (MariaDB Connector/J,
// as BI tools do) and checks what such tools rely on: the metadata calls
// they list databases, tables and columns with, prepared statements
// (client- and server-side), typed getters, streamed results and error
// codes. Run in source-file mode:
//
//	java -cp mariadb-java-client.jar JdbcCheck.java HOST PORT USER PASSWORD
//
// It expects the end-to-end test's data (order-1 with two OrderPlaced
// events of amount 10 and 5). Prints one line per failed expectation and
// exits 1 if there was any.

import java.sql.*;
import java.util.*;

public class JdbcCheck {
    static final List<String> failures = new ArrayList<>();
    static int checks;

    static void expect(boolean ok, String what) {
        checks++;
        if (!ok) failures.add(what);
    }

    public static void main(String[] args) throws Exception {
        String base = "jdbc:mariadb://" + args[0] + ":" + args[1] + "/eventsql";
        for (String opts : new String[] {"", "?useServerPrepStmts=true"}) {
            try (Connection c = DriverManager.getConnection(base + opts, args[2], args[3])) {
                check(c, opts.isEmpty() ? "client-side prepare" : "server-side prepare");
            }
        }
        for (String f : failures) System.out.println("JDBC: " + f);
        System.out.println("JDBC: " + (checks - failures.size()) + " of " + checks + " expectations held");
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    static void check(Connection c, String mode) throws SQLException {
        DatabaseMetaData md = c.getMetaData();
        expect(md.getDatabaseProductVersion().contains("eventsql"),
                "product version " + md.getDatabaseProductVersion() + " does not name eventsql");

        Set<String> catalogs = new HashSet<>();
        try (ResultSet rs = md.getCatalogs()) {
            while (rs.next()) catalogs.add(rs.getString("TABLE_CAT"));
        }
        expect(catalogs.containsAll(List.of("eventsql", "by_type", "by_category")), "catalogs " + catalogs);

        Set<String> types = new HashSet<>();
        try (ResultSet rs = md.getTables("by_type", null, "%", new String[] {"TABLE"})) {
            while (rs.next()) types.add(rs.getString("TABLE_NAME"));
        }
        expect(types.contains("OrderPlaced"), "by_type tables " + types);

        Map<String, Integer> columns = new HashMap<>();
        try (ResultSet rs = md.getColumns("by_type", null, "OrderPlaced", "%")) {
            while (rs.next()) columns.put(rs.getString("COLUMN_NAME"), rs.getInt("DATA_TYPE"));
        }
        expect(Objects.equals(columns.get("amount"), Types.BIGINT), "by_type.OrderPlaced.amount is JDBC type " + columns.get("amount") + ", want BIGINT");
        expect(Objects.equals(columns.get("created_at"), Types.TIMESTAMP), "created_at is JDBC type " + columns.get("created_at"));

        try (PreparedStatement ps = c.prepareStatement(
                "SELECT position, stream, created_at, amount, data->>'$.sku' FROM by_type.OrderPlaced WHERE stream = ? ORDER BY position")) {
            ps.setString(1, "order-1");
            List<String> got = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData rm = rs.getMetaData();
                expect(rm.getColumnCount() == 5, mode + ": " + rm.getColumnCount() + " columns");
                while (rs.next()) {
                    expect(rs.getTimestamp("created_at") != null, mode + ": created_at is NULL");
                    got.add(rs.getLong("position") + ":" + rs.getLong("amount") + ":" + rs.getString(5));
                }
            }
            expect(got.equals(List.of("1:10:A", "2:5:B")), mode + ": prepared stream lookup gave " + got);
        }

        try (Statement st = c.createStatement()) {
            long count;
            try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM events")) {
                rs.next();
                count = rs.getLong(1);
            }
            st.setFetchSize(1); // Connector/J streams the rows instead of reading them all first
            long streamed = 0, last = 0;
            try (ResultSet rs = st.executeQuery("SELECT position FROM events ORDER BY position")) {
                while (rs.next()) {
                    streamed++;
                    expect(rs.getLong(1) > last, mode + ": positions out of order");
                    last = rs.getLong(1);
                }
            }
            expect(count > 0 && streamed == count, mode + ": streamed " + streamed + " rows, COUNT(*) = " + count);

            try (ResultSet rs = st.executeQuery("SELECT nope FROM events")) {
                failures.add(mode + ": an unknown column gave no error");
            } catch (SQLException e) {
                expect(e.getErrorCode() == 1054 && e.getMessage().contains("nope"),
                        mode + ": unknown column: " + e.getErrorCode() + " " + e.getMessage());
            }
            try {
                st.executeUpdate("DELETE FROM events");
                failures.add(mode + ": DELETE was not refused");
            } catch (SQLException e) {
                expect(e.getErrorCode() == 1036 || e.getErrorCode() == 1142,
                        mode + ": DELETE refused with " + e.getErrorCode() + " " + e.getMessage());
            }
        }
    }
}
