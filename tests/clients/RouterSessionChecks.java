// Session-isolation checks of the tandem router with MariaDB Connector/J and server-side
// prepared statements (no client-side statement cache, so every prepareStatement is a
// COM_STMT_PREPARE and every close a COM_STMT_CLOSE):
//
//   java -cp /usr/share/java/mariadb-java-client.jar tests/clients/RouterSessionChecks.java \
//       HOST:PORT user pw MODE
//
// MODE:
//   txn-error   in schema `shop`: BEGIN; INSERT id 1; INSERT id 1 again (duplicate key);
//               ROLLBACK; then INSERT id 2 with autocommit. Table t(id INT PRIMARY KEY).
//   stmt-loop   in schema `shop`: 3000 x (prepare `SELECT ?`, execute, close).
//   stmt-db     two connections, one to schema `one`, one to `two`, both prepare the same
//               text `SELECT name FROM t WHERE id = ?`; then each executes its own and
//               must read its own database's row ('one' / 'two').
//
// Prints OK and exits 0 when every step returned what it should; prints what differed and
// exits 1 otherwise (also on any driver error).

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class RouterSessionChecks {
    static Connection open(String hostPort, String db, String user, String pw) throws SQLException {
        String url = "jdbc:mariadb://" + hostPort + "/" + db
                + "?useServerPrepStmts=true&cachePrepStmts=false";
        return DriverManager.getConnection(url, user, pw);
    }

    static String one(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return "<no row>";
            }
            return rs.getString(1);
        }
    }

    public static void main(String[] a) {
        try {
            String hostPort = a[0], user = a[1], pw = a[2], mode = a[3];
            switch (mode) {
                case "txn-error": {
                    try (Connection c = open(hostPort, "shop", user, pw);
                            Statement s = c.createStatement()) {
                        s.execute("BEGIN");
                        s.execute("INSERT INTO t VALUES (1)");
                        try {
                            s.execute("INSERT INTO t VALUES (1)");
                            System.out.println("duplicate insert did not fail");
                            System.exit(1);
                        } catch (SQLException e) {
                            if (e.getErrorCode() != 1062) {
                                throw e;
                            }
                        }
                        s.execute("ROLLBACK");
                        s.execute("INSERT INTO t VALUES (2)");
                    }
                    break;
                }
                case "stmt-loop": {
                    try (Connection c = open(hostPort, "shop", user, pw)) {
                        for (int i = 0; i < 3000; i++) {
                            try (PreparedStatement ps = c.prepareStatement("SELECT ?")) {
                                ps.setInt(1, i);
                                String got = one(ps);
                                if (!String.valueOf(i).equals(got)) {
                                    System.out.println("SELECT ? with " + i + " returned " + got);
                                    System.exit(1);
                                }
                            }
                        }
                    }
                    break;
                }
                case "stmt-db": {
                    try (Connection c1 = open(hostPort, "one", user, pw);
                            Connection c2 = open(hostPort, "two", user, pw)) {
                        String sql = "SELECT name FROM t WHERE id = ?";
                        PreparedStatement p1 = c1.prepareStatement(sql);
                        PreparedStatement p2 = c2.prepareStatement(sql);
                        for (int round = 0; round < 3; round++) {
                            p1.setInt(1, 1);
                            p2.setInt(1, 1);
                            String g1 = one(p1), g2 = one(p2);
                            if (!"one".equals(g1) || !"two".equals(g2)) {
                                System.out.println("round " + round + ": schema one read " + g1
                                        + ", schema two read " + g2);
                                System.exit(1);
                            }
                        }
                        p1.close();
                        p2.close();
                    }
                    break;
                }
                default:
                    System.out.println("unknown mode " + mode);
                    System.exit(2);
            }
            System.out.println("OK");
        } catch (Exception e) {
            System.out.println("error: " + e);
            System.exit(1);
        }
    }
}
