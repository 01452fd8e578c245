// pgjdbc (Debian's libpostgresql-jdbc-java) against a running `cip serve`: DatabaseMetaData
// getTables / getColumns, a PreparedStatement with parameters run past the driver's switch to
// binary transfer (after 5 executions), and SQLSTATEs. Run as a single-file program:
//   java -cp /usr/share/java/postgresql.jar tests/clients/JdbcClient.java PORT
import java.sql.*;
import java.util.*;

public class JdbcClient {
  static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/cip?user=cip";
    try (Connection c = DriverManager.getConnection(url)) {
      DatabaseMetaData md = c.getMetaData();
      check(md.getDatabaseProductName().equals("PostgreSQL"), "product " + md.getDatabaseProductName());

      Map<String, String> kinds = new TreeMap<>();
      try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"})) {
        while (rs.next()) kinds.put(rs.getString("TABLE_NAME"), rs.getString("TABLE_TYPE"));
      }
      for (String t : List.of("members", "visits", "order_items", "campaign_tracking", "upgrade_history", "campaigns", "tier_rules"))
        check("TABLE".equals(kinds.get(t)), "getTables lacks table " + t + ": " + kinds);
      for (String v : List.of("customer_segments", "customer_tags", "segment_summary", "upgrade_evaluation", "member_behavior_live"))
        check("VIEW".equals(kinds.get(v)), "getTables lacks view " + v + ": " + kinds);

      // getPrimaryKeys expands pg_index.indkey with information_schema._pg_expandarray.
      List<String> key = new ArrayList<>();
      try (ResultSet rs = md.getPrimaryKeys(null, "public", "tier_rules")) {
        while (rs.next()) key.add(rs.getInt("KEY_SEQ") + ":" + rs.getString("COLUMN_NAME") + ":" + rs.getString("PK_NAME"));
      }
      check(key.equals(List.of("1:tier:tier_rules_pkey", "2:version:tier_rules_pkey")), "getPrimaryKeys " + key);
      try (ResultSet rs = md.getPrimaryKeys(null, "public", "visits")) {
        check(!rs.next(), "visits has no enforced key");
      }

      Map<String, Integer> types = new LinkedHashMap<>();
      try (ResultSet rs = md.getColumns(null, "public", "customer_segments", "%")) {
        while (rs.next()) types.put(rs.getString("COLUMN_NAME"), rs.getInt("DATA_TYPE"));
      }
      check(types.get("member_id") == Types.VARCHAR, "member_id type " + types);
      check(types.get("p_alive") == Types.DOUBLE, "p_alive type " + types);
      check(types.get("recency_days") == Types.BIGINT, "recency_days type " + types);
      check(types.containsKey("reason") && types.containsKey("segment_id"), "columns " + types.keySet());

      int rows = 0;
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT member_id, segment_id, p_alive FROM customer_segments WHERE segment_id = ? AND p_alive >= ? ORDER BY member_id LIMIT 5")) {
        for (int i = 0; i < 8; i++) {
          ps.setString(1, i % 2 == 0 ? "vip" : "loyal");
          ps.setDouble(2, 0.5);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              rows++;
              check(rs.getString(2).equals(i % 2 == 0 ? "vip" : "loyal"), "segment " + rs.getString(2));
              check(rs.getDouble(3) >= 0.5, "p_alive " + rs.getDouble(3));
            }
          }
        }
      }
      check(rows > 0, "prepared statement returned rows");

      try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM visits WHERE member_id = ? AND amount > ?")) {
        ps.setString(1, "M00000001");
        ps.setBigDecimal(2, new java.math.BigDecimal("0.00"));
        try (ResultSet rs = ps.executeQuery()) {
          check(rs.next() && rs.getLong(1) >= 0, "count");
        }
      }

      // A side-effecting table function with a bound parameter acts once, when executed.
      String eligible = null;
      try (Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT member_id FROM upgrade_evaluation WHERE eligible ORDER BY member_id LIMIT 1")) {
        if (rs.next()) eligible = rs.getString(1);
      }
      check(eligible != null, "a member due an upgrade");
      int[] upgraded = new int[2];
      try (PreparedStatement ps = c.prepareStatement("SELECT member_id, to_tier FROM execute_upgrades(?)")) {
        for (int run = 0; run < 2; run++) {
          ps.setString(1, eligible);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              check(rs.getString(1).equals(eligible), "upgraded " + rs.getString(1));
              upgraded[run]++;
            }
          }
        }
      }
      check(upgraded[0] >= 1 && upgraded[1] == 0, "execute_upgrades acted once: " + upgraded[0] + ", " + upgraded[1]);

      // Generated keys: pgjdbc appends `RETURNING *` (or the named columns) to the INSERT and
      // reads the rows back, one statement or a batch.
      try (Statement st = c.createStatement()) {
        st.execute("DROP TABLE IF EXISTS jdbc_keys");
        st.execute("CREATE TABLE jdbc_keys (id serial PRIMARY KEY, name text, made timestamp DEFAULT now())");
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_keys (name) VALUES (?)", Statement.RETURN_GENERATED_KEYS)) {
        ps.setString(1, "first");
        check(ps.executeUpdate() == 1, "one row inserted");
        try (ResultSet keys = ps.getGeneratedKeys()) {
          check(keys.next() && keys.getInt("id") == 1 && "first".equals(keys.getString("name")) && keys.getTimestamp("made") != null,
              "generated keys of one insert");
          check(!keys.next(), "one generated row");
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_keys (name) VALUES (?)", new String[] {"id"})) {
        for (String name : new String[] {"second", "third"}) {
          ps.setString(1, name);
          ps.addBatch();
        }
        int[] counts = ps.executeBatch();
        check(counts.length == 2 && counts[0] == 1 && counts[1] == 1, "batch counts " + java.util.Arrays.toString(counts));
        List<Integer> ids = new ArrayList<>();
        try (ResultSet keys = ps.getGeneratedKeys()) {
          while (keys.next()) ids.add(keys.getInt(1));
        }
        check(ids.equals(List.of(2, 3)), "generated keys of a batch: " + ids);
      }
      // The defaults as DatabaseMetaData reads them (pg_attrdef through pg_get_expr).
      Map<String, String> defaults = new HashMap<>();
      Map<String, String> autoincrement = new HashMap<>();
      try (ResultSet rs = c.getMetaData().getColumns(null, "public", "jdbc_keys", null)) {
        while (rs.next()) {
          defaults.put(rs.getString("COLUMN_NAME"), rs.getString("COLUMN_DEF"));
          autoincrement.put(rs.getString("COLUMN_NAME"), rs.getString("IS_AUTOINCREMENT"));
        }
      }
      check("nextval('jdbc_keys_id_seq'::regclass)".equals(defaults.get("id")) && "now()".equals(defaults.get("made"))
          && defaults.get("name") == null, "column defaults " + defaults);
      check("YES".equals(autoincrement.get("id")) && "NO".equals(autoincrement.get("name")), "autoincrement " + autoincrement);
      try (Statement st = c.createStatement()) {
        st.execute("DROP TABLE jdbc_keys");
      }

      try (Statement st = c.createStatement()) {
        String[][] cases = {
          {"SELECT * FROM no_such_table", "42P01"},
          {"SELECT no_such_column FROM members", "42703"},
          {"SELECT 1/0", "22012"},
        };
        for (String[] k : cases) {
          try {
            st.executeQuery(k[0]);
            throw new AssertionError(k[0] + " did not fail");
          } catch (SQLException e) {
            check(k[1].equals(e.getSQLState()), k[0] + " gave " + e.getSQLState() + ": " + e.getMessage());
          }
        }
      }
      System.out.println("pgjdbc: " + kinds.size() + " tables and views, " + types.size() + " columns of customer_segments, " + rows + " prepared rows");
      System.out.println("pgjdbc: ok");
    }
  }
}
