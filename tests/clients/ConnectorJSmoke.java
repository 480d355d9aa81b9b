// A short JDBC script against a MySQL-protocol server (MariaDB or the tandem router),
// with MariaDB Connector/J and server-side prepared statements.
//
//   java -cp /usr/share/java/mariadb-java-client.jar tests/clients/ConnectorJSmoke.java \
//       jdbc:mariadb://127.0.0.1:3306/app app pw [table]
//
// (Java 11+ single-file source launch; no javac step.) useServerPrepStmts=true is added
// to the URL when it is not there, so PreparedStatements go out as COM_STMT_PREPARE /
// COM_STMT_EXECUTE instead of client-side interpolated COM_QUERY text. Seen with Debian's
// Connector/J 2.7.6: prepared statements are cached per connection (no COM_STMT_CLOSE
// until the connection ends), executeBatch sends one COM_STMT_EXECUTE per row, several
// of them pipelined in one TCP write, and the two startup queries are pipelined too.
// Connector/J 3.x may instead use COM_STMT_BULK_EXECUTE for batches and pipeline
// PREPARE with EXECUTE (statement id 0xffffffff).
//
// Prints OK and exits 0 when every step returned what it should; prints what differed and
// exits 1 otherwise (also on any driver error).

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.Objects;

public class ConnectorJSmoke {
    static final class Mismatch extends Exception {
        Mismatch(String m) {
            super(m);
        }
    }

    static void expect(String what, Object got, Object want) throws Mismatch {
        boolean same = (got instanceof BigDecimal && want instanceof BigDecimal)
                ? ((BigDecimal) got).compareTo((BigDecimal) want) == 0
                : Objects.equals(got, want);
        if (!same) {
            throw new Mismatch(what + ": got " + show(got) + ", want " + show(want));
        }
    }

    static String show(Object o) {
        return o == null ? "null" : "'" + o + "' (" + o.getClass().getSimpleName() + ")";
    }

    static String withServerPrep(String url) {
        if (url.contains("useServerPrepStmts=")) {
            return url;
        }
        return url + (url.contains("?") ? "&" : "?") + "useServerPrepStmts=true";
    }

    static long count(Connection c, String t, String where, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM `" + t + "` WHERE " + where)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static long sessionStatus(Connection c, String name) throws SQLException {
        try (Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SHOW SESSION STATUS LIKE '" + name + "'")) {
            return rs.next() ? rs.getLong(2) : -1;
        }
    }

    static void run(String url, String user, String password, String t) throws Exception {
        if (!t.matches("[A-Za-z0-9_]+")) {
            throw new Mismatch("table must be a plain identifier, got '" + t + "'");
        }
        url = withServerPrep(url);
        System.out.println("ConnectorJSmoke: " + url + " table " + t);
        DriverManager.setLoginTimeout(10);
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            System.out.println("ConnectorJSmoke: driver " + c.getMetaData().getDriverName() + " "
                    + c.getMetaData().getDriverVersion() + ", server "
                    + c.getMetaData().getDatabaseProductVersion());
            long prepBefore = sessionStatus(c, "Com_stmt_prepare");

            try (Statement st = c.createStatement()) {
                st.execute("DROP TABLE IF EXISTS `" + t + "`");
                st.execute("CREATE TABLE `" + t + "` ("
                        + " id INT AUTO_INCREMENT PRIMARY KEY,"
                        + " name VARCHAR(64) NOT NULL,"
                        + " qty INT NULL,"
                        + " amount DECIMAL(12,4) NULL,"
                        + " at TIMESTAMP(3) NULL DEFAULT NULL,"
                        + " note VARCHAR(255) NULL"
                        + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
            }

            // Generated keys of an AUTO_INCREMENT insert.
            long firstId;
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO `" + t + "` (name, qty) VALUES (?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                ps.setString(1, "alpha");
                ps.setInt(2, 1);
                expect("executeUpdate count", ps.executeUpdate(), 1);
                try (ResultSet keys = ps.getGeneratedKeys()) {
                    if (!keys.next()) {
                        throw new Mismatch("no generated key after the first insert");
                    }
                    firstId = keys.getLong(1);
                }
                // The same prepared statement executed again.
                ps.setString(1, "beta");
                ps.setInt(2, 2);
                expect("executeUpdate count (re-execute)", ps.executeUpdate(), 1);
                try (ResultSet keys = ps.getGeneratedKeys()) {
                    keys.next();
                    expect("second generated key", keys.getLong(1), firstId + 1);
                }
            }

            // Batch insert.
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO `" + t + "` (name, qty, amount, at, note) VALUES (?, ?, ?, ?, ?)")) {
                for (int i = 1; i <= 5; i++) {
                    ps.setString(1, "batch" + i);
                    ps.setInt(2, 10 * i);
                    ps.setBigDecimal(3, new BigDecimal(i + ".5000"));
                    ps.setTimestamp(4, Timestamp.valueOf("2024-02-29 12:00:0" + i + ".125"));
                    if (i % 2 == 0) {
                        ps.setNull(5, Types.VARCHAR);
                    } else {
                        ps.setString(5, "odd " + i);
                    }
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                expect("executeBatch result length", counts.length, 5);
                for (int n : counts) {
                    if (n != 1 && n != Statement.SUCCESS_NO_INFO) {
                        throw new Mismatch("executeBatch count " + n);
                    }
                }
            }
            expect("rows after the batch", count(c, t, "name LIKE ?", "batch%"), 5L);

            // A committed transaction and a rolled-back one.
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO `" + t + "` (name) VALUES (?)")) {
                ps.setString(1, "committed");
                ps.executeUpdate();
                c.commit();
                ps.setString(1, "rolled_back");
                ps.executeUpdate();
                expect("rolled_back row inside its transaction", count(c, t, "name = ?", "rolled_back"), 1L);
                c.rollback();
            }
            c.setAutoCommit(true);
            expect("committed row after commit", count(c, t, "name = ?", "committed"), 1L);
            expect("rolled_back row after rollback", count(c, t, "name = ?", "rolled_back"), 0L);

            // utf8mb4 round trip, and a quote.
            String text = "caf\u00e9 \uD83D\uDE00 \u6f22\u5b57 it's";
            long uid;
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO `" + t + "` (name, note) VALUES (?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                ps.setString(1, "unicode");
                ps.setString(2, text);
                ps.executeUpdate();
                try (ResultSet keys = ps.getGeneratedKeys()) {
                    keys.next();
                    uid = keys.getLong(1);
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT note, CHAR_LENGTH(note) FROM `" + t + "` WHERE id = ?")) {
                ps.setLong(1, uid);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    expect("utf8mb4 round trip", rs.getString(1), text);
                    expect("CHAR_LENGTH", rs.getLong(2), (long) text.codePointCount(0, text.length()));
                }
            }

            // A ResultSet over several rows: int, varchar, decimal, timestamp, null.
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, name, qty, amount, at, note FROM `" + t + "` WHERE qty >= ? ORDER BY id")) {
                ps.setInt(1, 10);
                try (ResultSet rs = ps.executeQuery()) {
                    int i = 0;
                    while (rs.next()) {
                        i++;
                        expect("name of row " + i, rs.getString("name"), "batch" + i);
                        expect("qty of row " + i, rs.getInt("qty"), 10 * i);
                        expect("amount of row " + i, rs.getBigDecimal("amount"), new BigDecimal(i + ".5"));
                        expect("at of row " + i, rs.getTimestamp("at"),
                                Timestamp.valueOf("2024-02-29 12:00:0" + i + ".125"));
                        String note = rs.getString("note");
                        if (i % 2 == 0) {
                            expect("note of row " + i + " (NULL)", note, null);
                            expect("wasNull of row " + i, rs.wasNull(), true);
                        } else {
                            expect("note of row " + i, note, "odd " + i);
                        }
                    }
                    expect("rows in the ResultSet", i, 5);
                }
            }

            // NULL parameters and NULLs of every column type.
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO `" + t + "` (name, qty, amount, at, note) VALUES (?, ?, ?, ?, ?)")) {
                ps.setString(1, "nulls");
                ps.setNull(2, Types.INTEGER);
                ps.setNull(3, Types.DECIMAL);
                ps.setNull(4, Types.TIMESTAMP);
                ps.setNull(5, Types.VARCHAR);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT qty, amount, at, note FROM `" + t + "` WHERE name = ?")) {
                ps.setString(1, "nulls");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    for (int col = 1; col <= 4; col++) {
                        expect("NULL column " + col, rs.getObject(col), null);
                    }
                }
            }

            // A DECIMAL and TIMESTAMP as WHERE parameters.
            expect("row by amount and at",
                    count(c, t, "amount = ? AND at = ?", new BigDecimal("3.5"),
                            Timestamp.valueOf("2024-02-29 12:00:03.125")),
                    1L);

            long prepared = sessionStatus(c, "Com_stmt_prepare") - prepBefore;
            System.out.println("ConnectorJSmoke: server-side prepares in this session: " + prepared);

            try (Statement st = c.createStatement()) {
                st.execute("DROP TABLE `" + t + "`");
            }
        }
    }

    public static void main(String[] args) {
        if (args.length < 3 || args.length > 4) {
            System.out.println("usage: ConnectorJSmoke JDBC_URL USER PASSWORD [TABLE]");
            System.exit(2);
        }
        String table = args.length == 4 ? args[3] : "cj_smoke";
        try {
            run(args[0], args[1], args[2], table);
        } catch (Mismatch e) {
            System.out.println("ConnectorJSmoke: MISMATCH: " + e.getMessage());
            System.exit(1);
        } catch (Throwable e) {
            e.printStackTrace(System.out);
            System.out.println("ConnectorJSmoke: FAILED: " + e);
            System.exit(1);
        }
        System.out.println("OK");
        System.exit(0);
    }
}
