// JDBC on the router's admin port, as MyCat monitoring tools (Mycat-web, Mycat-eye) use
// MyCat's 9066: MariaDB Connector/J connects without a database and runs admin commands
// as plain statements.
//
//   java -cp /usr/share/java/mariadb-java-client.jar tests/clients/AdminPortCheck.java \
//       jdbc:mariadb://127.0.0.1:9066/ root pw
//
// Prints each command's column names and row count, then OK; exits 1 on any driver error
// or when a command answers no columns.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;

public class AdminPortCheck {
    public static void main(String[] args) {
        String[] commands = {
            "show @@version", "show @@server", "show @@heartbeat", "show @@datasource",
            "show @@datanode", "show @@connection", "show @@processor", "show @@threadpool",
            "show @@command", "show @@sql.sum",
        };
        try (Connection c = DriverManager.getConnection(args[0], args[1], args[2])) {
            for (String cmd : commands) {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(cmd)) {
                    ResultSetMetaData md = rs.getMetaData();
                    if (md.getColumnCount() == 0) {
                        System.out.println(cmd + ": no columns");
                        System.exit(1);
                    }
                    StringBuilder cols = new StringBuilder();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        cols.append(i > 1 ? "," : "").append(md.getColumnLabel(i));
                    }
                    int rows = 0;
                    while (rs.next()) {
                        for (int i = 1; i <= md.getColumnCount(); i++) {
                            rs.getString(i);
                        }
                        rows++;
                    }
                    System.out.println(cmd + ": " + cols + " (" + rows + " rows)");
                }
            }
            try (Statement st = c.createStatement()) {
                st.executeUpdate("reload @@sqlslow=150");
            }
            System.out.println("OK");
        } catch (SQLException e) {
            System.out.println("driver error: " + e);
            System.exit(1);
        }
    }
}
