// pgjdbc (Debian's libpostgresql-jdbc-java) against a running `cip serve`: the DatabaseMetaData
// methods DBeaver calls (catalogs, schemas, tables, columns, keys, indexes, functions, types,
// privileges), a PreparedStatement with parameters run past the driver's switch to
// binary transfer (after 5 executions), and SQLSTATEs. Run as a single-file program:
//   java -cp /usr/share/java/postgresql.jar tests/clients/JdbcClient.java PORT
import java.sql.*;
import java.util.*;

public class JdbcClient {
  static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  /** One column of every row, and the result set closed. */
  static List<String> column(ResultSet rs, String name) throws SQLException {
    List<String> out = new ArrayList<>();
    try (rs) {
      while (rs.next()) out.add(rs.getString(name));
    }
    return out;
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

      // The rest of what DBeaver calls when it opens a connection and browses a table.
      List<String> catalogs = column(md.getCatalogs(), "TABLE_CAT");
      check(catalogs.equals(List.of("cip")), "getCatalogs " + catalogs);
      List<String> schemas = column(md.getSchemas(), "TABLE_SCHEM");
      check(schemas.containsAll(List.of("public", "pg_catalog", "information_schema")), "getSchemas " + schemas);
      check(column(md.getSchemas(null, "pub%"), "TABLE_SCHEM").equals(List.of("public")), "getSchemas(pub%)");
      check(column(md.getTableTypes(), "TABLE_TYPE").containsAll(List.of("TABLE", "VIEW")), "getTableTypes");

      // getIndexInfo subscripts pg_index.indoption (an int2vector, from 0) and asks
      // pg_get_indexdef for each key column's name.
      List<String> index = new ArrayList<>();
      try (ResultSet rs = md.getIndexInfo(null, "public", "tier_rules", false, true)) {
        while (rs.next())
          index.add(rs.getString("INDEX_NAME") + ":" + rs.getInt("ORDINAL_POSITION") + ":" + rs.getString("COLUMN_NAME")
              + ":" + rs.getString("ASC_OR_DESC") + ":" + rs.getBoolean("NON_UNIQUE"));
      }
      check(index.equals(List.of("tier_rules_pkey:1:tier:A:false", "tier_rules_pkey:2:version:A:false")), "getIndexInfo " + index);
      check(column(md.getIndexInfo(null, "public", "visits", true, false), "INDEX_NAME").isEmpty(), "visits has no index");

      // Foreign keys: campaign_tracking, campaign_audience and message_outbox reference campaigns.
      List<String> imported = new ArrayList<>();
      try (ResultSet rs = md.getImportedKeys(null, "public", "campaign_tracking")) {
        while (rs.next())
          imported.add(rs.getString("PKTABLE_NAME") + "." + rs.getString("PKCOLUMN_NAME") + "<-" + rs.getString("FKCOLUMN_NAME")
              + ":" + rs.getInt("KEY_SEQ") + ":" + rs.getString("FK_NAME") + ":" + rs.getString("PK_NAME")
              + ":" + rs.getInt("UPDATE_RULE") + ":" + rs.getInt("DELETE_RULE"));
      }
      String noAction = DatabaseMetaData.importedKeyNoAction + ":" + DatabaseMetaData.importedKeyNoAction;
      check(imported.equals(List.of("campaigns.campaign_id<-campaign_id:1:campaign_tracking_campaign_id_fkey:campaigns_pkey:" + noAction)),
          "getImportedKeys " + imported);
      List<String> exported = column(md.getExportedKeys(null, "public", "campaigns"), "FKTABLE_NAME");
      check(exported.equals(List.of("campaign_audience", "campaign_tracking", "message_outbox")), "getExportedKeys " + exported);
      check(column(md.getCrossReference(null, "public", "campaigns", null, "public", "message_outbox"), "FK_NAME")
          .equals(List.of("message_outbox_campaign_id_fkey")), "getCrossReference");
      check(column(md.getImportedKeys(null, "public", "visits"), "FK_NAME").isEmpty(), "visits imports no key");

      List<String> best = column(md.getBestRowIdentifier(null, "public", "members", DatabaseMetaData.bestRowSession, true), "COLUMN_NAME");
      check(best.equals(List.of("member_id")), "getBestRowIdentifier " + best);
      List<String> functions = column(md.getFunctions(null, null, "%"), "FUNCTION_NAME");
      check(functions.containsAll(List.of("bgnbd_p_alive", "execute_upgrades")), "getFunctions lacks cip's: " + functions.size());
      // The result, then each argument by name (pg_proc.proargnames is a text[]).
      List<String> fcolumns = column(md.getFunctionColumns(null, null, "bgnbd_p_alive", "%"), "COLUMN_NAME");
      check(fcolumns.equals(List.of("returnValue", "frequency", "recency", "t", "params")), "getFunctionColumns " + fcolumns);
      // Every function's columns: pgjdbc reads proargnames / proargmodes as String[] and
      // proallargtypes as Long[] (it failed with ArrayIndexOutOfBoundsException on their text).
      List<String> pcolumns = column(md.getProcedureColumns(null, "pg_catalog", "aclexplode", "%"), "COLUMN_NAME");
      check(pcolumns.equals(List.of("acl", "grantor", "grantee", "privilege_type", "is_grantable")), "getProcedureColumns " + pcolumns);
      // PostgreSQL 11 and later: procedures only (prokind 'p'), and cip defines none.
      check(column(md.getProcedures(null, null, "%"), "PROCEDURE_NAME").isEmpty(), "getProcedures");
      List<String> typeNames = column(md.getTypeInfo(), "TYPE_NAME");
      check(typeNames.containsAll(List.of("int4", "int8", "text", "float8", "timestamp", "serial")), "getTypeInfo " + typeNames);
      List<String> privileges = column(md.getTablePrivileges(null, "public", "members"), "PRIVILEGE");
      check(privileges.contains("SELECT"), "getTablePrivileges " + privileges);

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
      // An index a migration made, as getIndexInfo lists it: non-unique, descending, in its order.
      try (Statement st = c.createStatement()) {
        st.execute("CREATE INDEX jdbc_keys_recent ON jdbc_keys (made DESC, name)");
      }
      List<String> indexes = new ArrayList<>();
      try (ResultSet rs = c.getMetaData().getIndexInfo(null, "public", "jdbc_keys", false, false)) {
        while (rs.next())
          indexes.add(rs.getString("INDEX_NAME") + ":" + rs.getInt("ORDINAL_POSITION") + ":" + rs.getString("COLUMN_NAME")
              + ":" + rs.getString("ASC_OR_DESC") + ":" + rs.getBoolean("NON_UNIQUE"));
      }
      check(indexes.equals(List.of("jdbc_keys_pkey:1:id:A:false", "jdbc_keys_recent:1:made:D:true", "jdbc_keys_recent:2:name:A:true")),
          "getIndexInfo of a created index " + indexes);
      try (Statement st = c.createStatement()) {
        st.execute("DROP INDEX jdbc_keys_recent");
        st.execute("DROP TABLE jdbc_keys");
      }

      // uuid and varchar(n) columns: setObject(UUID) binds a uuid, getObject reads one back,
      // getColumns reports the types and COLUMN_SIZE, a value too long is 22001.
      try (Statement st = c.createStatement()) {
        st.execute("CREATE TABLE jdbc_uuid (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), code varchar(6))");
      }
      java.util.UUID mine = java.util.UUID.randomUUID();
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_uuid (id, code) VALUES (?, ?)")) {
        ps.setObject(1, mine);
        ps.setString(2, "A1");
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT id, code FROM jdbc_uuid WHERE id = ?")) {
        ps.setObject(1, mine);
        try (ResultSet rs = ps.executeQuery()) {
          check(rs.next() && mine.equals(rs.getObject(1)) && "A1".equals(rs.getString(2)), "a uuid read back by setObject");
          check("uuid".equals(rs.getMetaData().getColumnTypeName(1)), "uuid column type " + rs.getMetaData().getColumnTypeName(1));
        }
      }
      // timestamptz: an OffsetDateTime in any zone is stored and read back as its instant.
      try (Statement st = c.createStatement()) {
        st.execute("CREATE TABLE jdbc_times (k int, at timestamptz)");
      }
      java.time.OffsetDateTime when = java.time.OffsetDateTime.of(2026, 3, 4, 0, 6, 7, 0, java.time.ZoneOffset.ofHours(-5));
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_times VALUES (1, ?)")) {
        ps.setObject(1, when);
        ps.executeUpdate();
      }
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT at, extract(epoch FROM at) FROM jdbc_times")) {
        check(rs.next(), "a timestamptz row");
        java.time.OffsetDateTime back = rs.getObject(1, java.time.OffsetDateTime.class);
        check(back.isEqual(when), "timestamptz read back " + back + " for " + when);
        check(rs.getLong(2) == when.toEpochSecond(), "epoch " + rs.getLong(2));
        check(rs.getTimestamp(1).toInstant().equals(when.toInstant()), "getTimestamp " + rs.getTimestamp(1));
      }
      try (Statement st = c.createStatement()) {
        st.execute("DROP TABLE jdbc_times");
      }
      Map<String, String> sizes = new HashMap<>();
      try (ResultSet rs = c.getMetaData().getColumns(null, "public", "jdbc_uuid", null)) {
        while (rs.next()) sizes.put(rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME") + ":" + rs.getInt("COLUMN_SIZE") + ":" + rs.getInt("NULLABLE"));
      }
      check("uuid:2147483647:0".equals(sizes.get("id")) && "varchar:6:1".equals(sizes.get("code")), "getColumns of uuid / varchar(6) " + sizes);
      try (Statement st = c.createStatement()) {
        try {
          st.executeUpdate("INSERT INTO jdbc_uuid (code) VALUES ('seven!!')");
          throw new AssertionError("a value over varchar(6) was stored");
        } catch (SQLException e) {
          check("22001".equals(e.getSQLState()), "too long gave " + e.getSQLState());
        }
        st.execute("DROP TABLE jdbc_uuid");
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
