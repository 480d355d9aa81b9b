// JDBC DatabaseMetaData through the tandem router by logical schema name, as GUI tools
// (DBeaver, Workbench) and ORMs browse a database: getCatalogs, getTables, getColumns,
// getPrimaryKeys and getIndexInfo with catalog = the schema. MariaDB Connector/J answers
// these from information_schema queries (`WHERE TABLE_SCHEMA = 'shop'`).
//
//   java -cp /usr/share/java/mariadb-java-client.jar tests/clients/MetaDataCheck.java \
//       jdbc:mariadb://127.0.0.1:8067/shop app pw shop table1,table2 sharded_table
//
// Prints what it found, then OK and exits 0 when: getCatalogs lists the schema and no
// database of the servers; getTables lists every named table, each under the schema's
// name; getColumns and getPrimaryKeys of the last argument's table give its columns and
// `id`; getIndexInfo gives its PRIMARY index. Exits 1 otherwise (also on driver errors).

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

public class MetaDataCheck {
    static boolean ok = true;

    static void check(boolean cond, String what) {
        if (!cond) {
            System.out.println("MISMATCH: " + what);
            ok = false;
        }
    }

    public static void main(String[] args) throws Exception {
        String url = args[0], user = args[1], password = args[2], schema = args[3];
        String[] tables = args[4].split(",");
        String table = args[5];
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            DatabaseMetaData md = c.getMetaData();
            List<String> cats = new ArrayList<>();
            try (ResultSet rs = md.getCatalogs()) {
                while (rs.next()) cats.add(rs.getString("TABLE_CAT"));
            }
            System.out.println("catalogs: " + cats);
            check(cats.contains(schema), "getCatalogs lists " + schema);
            for (String cat : cats) {
                check(!cat.startsWith(schema + "_") && !cat.equals("mysql"),
                        "getCatalogs lists no server database: " + cat);
            }
            List<String> found = new ArrayList<>();
            try (ResultSet rs = md.getTables(schema, null, "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    found.add(rs.getString("TABLE_NAME"));
                    check(schema.equals(rs.getString("TABLE_CAT")),
                            "TABLE_CAT of " + rs.getString("TABLE_NAME") + " is " + rs.getString("TABLE_CAT"));
                }
            }
            System.out.println("tables: " + found);
            for (String t : tables) check(found.contains(t), "getTables lists " + t);
            List<String> cols = new ArrayList<>();
            try (ResultSet rs = md.getColumns(schema, null, table, "%")) {
                while (rs.next()) {
                    cols.add(rs.getString("COLUMN_NAME") + ":" + rs.getInt("DATA_TYPE"));
                    check(schema.equals(rs.getString("TABLE_CAT")), "column TABLE_CAT " + rs.getString("TABLE_CAT"));
                }
            }
            System.out.println("columns of " + table + ": " + cols);
            check(!cols.isEmpty() && cols.get(0).startsWith("id:"), "getColumns of " + table);
            List<String> pk = new ArrayList<>();
            try (ResultSet rs = md.getPrimaryKeys(schema, null, table)) {
                while (rs.next()) pk.add(rs.getString("COLUMN_NAME"));
            }
            System.out.println("primary key of " + table + ": " + pk);
            check(pk.equals(List.of("id")), "getPrimaryKeys of " + table);
            List<String> idx = new ArrayList<>();
            try (ResultSet rs = md.getIndexInfo(schema, null, table, false, false)) {
                while (rs.next()) idx.add(rs.getString("INDEX_NAME") + "." + rs.getString("COLUMN_NAME"));
            }
            System.out.println("indexes of " + table + ": " + idx);
            check(idx.contains("PRIMARY.id"), "getIndexInfo of " + table);
        } catch (Exception e) {
            e.printStackTrace(System.out);
            ok = false;
        }
        if (!ok) System.exit(1);
        System.out.println("OK");
    }
}
