package canary;

/**
 * ksqlDB answers in the shapes its entity classes serialize (package {@code io.confluent.ksql.rest.entity} of
 * ksqldb-rest-model, read at confluentinc/ksql 354e3d1) and its REST API documents. Each fixture names the class it
 * mirrors; every field is one of that class's JSON properties, and no field is invented. Values are ours.
 */
final class KsqlFixtures {

    private KsqlFixtures() {
    }

    /**
     * The answer to a CREATE/DROP/PAUSE statement, with the given sequence number; mirrors {@code CommandStatusEntity}
     * ({@code @type currentStatus}: statementText, commandId, commandStatus, commandSequenceNumber, warnings) holding a
     * {@code CommandStatus} (status, message, queryId).
     */
    static String commandStatus(String statement, String commandId, long sequence, String queryId) {
        return """
                [{"@type":"currentStatus","statementText":%s,"commandId":"%s",
                  "commandStatus":{"status":"SUCCESS","message":"Created query with ID %s","queryId":"%s"},
                  "commandSequenceNumber":%d,"warnings":[]}]
                """.formatted(quote(statement), commandId, queryId, queryId, sequence);
    }

    /** {@code CommandStatusEntity} of a statement that starts no query ({@code CommandStatus} without queryId). */
    static String commandStatus(String statement, long sequence) {
        return """
                [{"@type":"currentStatus","statementText":%s,"commandId":"stream/X/create",
                  "commandStatus":{"status":"SUCCESS","message":"Stream created"},
                  "commandSequenceNumber":%d,"warnings":[]}]
                """.formatted(quote(statement), sequence);
    }

    /** {@code CommandStatusEntity} whose {@code CommandStatus} ended in ERROR. */
    static final String COMMAND_ERROR = """
            [{"@type":"currentStatus","statementText":"CREATE STREAM ORDERS_NEW AS SELECT * FROM ORDERS_RATED;",
              "commandId":"stream/ORDERS_NEW/create",
              "commandStatus":{"status":"ERROR","message":"Could not write to topic orders_new\\nCaused by: authorization"},
              "commandSequenceNumber":14,"warnings":[]}]
            """;

    /**
     * {@code KsqlStatementErrorMessage} ({@code @type statement_error}: error_code, message, statementText, entities: the
     * entities of the statements that ran before the failing one).
     */
    static final String STATEMENT_ERROR = """
            {"@type":"statement_error","error_code":40001,
             "message":"Exception while preparing statement: ORDERS_CANARY_SOURCE does not exist.\\nStatement: CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;",
             "statementText":"CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;",
             "entities":[{"@type":"currentStatus","statementText":"CREATE STREAM ORDERS_CANARY_SOURCE;",
                          "commandId":"stream/ORDERS_CANARY_SOURCE/create",
                          "commandStatus":{"status":"SUCCESS","message":"Stream created"},
                          "commandSequenceNumber":21}]}
            """;

    /** {@code KsqlStatementErrorMessage} of a server that does not know PAUSE. */
    static final String PARSE_ERROR_OLD_SERVER = """
            {"@type":"statement_error","error_code":40001,
             "message":"line 1:1: Syntax Error\\nUnknown statement 'PAUSE'",
             "statementText":"PAUSE CSAS_ORDERS_RATED_11;","entities":[]}
            """;

    /** {@code KsqlErrorMessage} ({@code @type generic_error}: error_code, message). */
    static final String GENERIC_ERROR_503 = """
            {"@type":"generic_error","error_code":50300,
             "message":"The server is not ready to accept requests: command runner is catching up\\nretry later"}
            """;

    static final String GENERIC_ERROR_500 = """
            {"@type":"generic_error","error_code":50000,
             "message":"Could not write the statement into the command topic."}
            """;

    /** {@code KsqlErrorMessage} of a refused API key. */
    static final String UNAUTHORIZED = """
            {"@type":"generic_error","error_code":40100,"message":"Unauthorized"}
            """;

    /** {@code KsqlErrorMessage} of a missing role. */
    static final String FORBIDDEN = """
            {"@type":"generic_error","error_code":40300,"message":"Forbidden: KsqlAdmin role required"}
            """;

    /**
     * DESCRIBE FUNCTION of a function the server has; mirrors ksqlDB's {@code FunctionDescriptionList}
     * ({@code @type describe_function}: name, description, author, version, path, functions of {@code FunctionInfo}
     * with {@code ArgumentInfo} arguments, type).
     */
    static String describeFunction(String name) {
        return """
                [{"@type":"describe_function","statementText":"DESCRIBE FUNCTION %s;","warnings":[],
                  "name":"%s","description":"Returns the hex-encoded MD5 hash of the input string","author":"Confluent",
                  "version":"","path":"internal",
                  "functions":[{"arguments":[{"name":"input","type":"VARCHAR","description":"","isVariadic":false}],
                                "returnType":"VARCHAR","description":""}],
                  "type":"SCALAR"}]
                """.formatted(name, name);
    }

    /**
     * DESCRIBE FUNCTION of a function the server lacks; mirrors {@code KsqlStatementErrorMessage} with the message of
     * {@code InternalFunctionRegistry}.
     */
    static String functionNotFound(String name) {
        return """
                {"@type":"statement_error","error_code":40001,
                 "message":"Can't find any functions with the name '%s'","statementText":"DESCRIBE FUNCTION %s;","entities":[]}
                """.formatted(name, name);
    }

    /**
     * DESCRIBE of a stream with a key column and the given value columns (all STRING); mirrors {@code SourceDescriptionEntity}
     * ({@code @type sourceDescription}) holding a {@code SourceDescription}: its {@code fields} are {@code FieldInfo}
     * (name, {@code schema} a {@code SchemaInfo}, {@code fieldType} KEY or HEADER, absent for a value column).
     */
    static String sourceDescription(String name, String topic, String... valueColumns) {
        return sourceDescription(null, name, topic, valueColumns);
    }

    /** DESCRIBE of the source stream: its key column {@code CANARY_KEY} (fieldType KEY), then the value columns. */
    static String describeSource(String name, String topic, String... valueColumns) {
        return sourceDescription("CANARY_KEY", name, topic, valueColumns);
    }

    static String sourceDescription(String keyColumn, String name, String topic, String... valueColumns) {
        StringBuilder fields = new StringBuilder();
        if (keyColumn != null) {
            fields.append("{\"name\":\"").append(keyColumn)
                    .append("\",\"schema\":{\"type\":\"STRING\",\"fields\":null,\"memberSchema\":null},\"fieldType\":\"KEY\"}");
        }
        for (String c : valueColumns) {
            fields.append(fields.length() == 0 ? "" : ",").append("{\"name\":\"").append(c).append("\",\"schema\":{\"type\":\"STRING\",\"fields\":null,\"memberSchema\":null}}");
        }
        return """
                [{"@type":"sourceDescription","statementText":"DESCRIBE %s;","warnings":[],
                  "sourceDescription":{"name":"%s","windowType":null,"readQueries":[],"writeQueries":[],
                    "fields":[%s],
                    "type":"STREAM","timestamp":"","statistics":"","errorStats":"","extended":false,"keyFormat":"NONE",
                    "valueFormat":"JSON_SR","topic":"%s","partitions":0,"replication":0,
                    "statement":"CREATE STREAM %s WITH (KAFKA_TOPIC='%s', KEY_FORMAT='NONE', VALUE_FORMAT='JSON_SR');",
                    "queryOffsetSummaries":[],"sourceConstraints":[],"clusterStatistics":[],"clusterErrorStats":[]}}]
                """.formatted(name, name, fields, topic, name, topic);
    }

    /** GET /info; mirrors {@code ServerInfo}, wrapped in an object named {@code KsqlServerInfo} (its JSON type name). */
    static String info(String version) {
        return """
                {"KsqlServerInfo":{"version":"%s","kafkaClusterId":"lkc-12345","ksqlServiceId":"pksqlc-abcde",
                  "serverStatus":"RUNNING"}}
                """.formatted(version);
    }

    /** GET /healthcheck; mirrors {@code HealthCheckResponse} (isHealthy, details of {@code HealthCheckResponseDetail}, serverState). */
    static final String HEALTHY = """
            {"isHealthy":true,"details":{"metastore":{"isHealthy":true},"kafka":{"isHealthy":true},
             "commandRunner":{"isHealthy":true}},"serverState":"READY"}
            """;

    static final String UNHEALTHY = """
            {"isHealthy":false,"details":{"metastore":{"isHealthy":true},"kafka":{"isHealthy":false}},
             "serverState":"READY"}
            """;

    /**
     * SHOW QUERIES EXTENDED: status per server, consumer groups chosen by ksqlDB; mirrors {@code QueryDescriptionList} of
     * {@code QueryDescription} (see {@link #queriesExtended(String, Query...)}). The rating query was created with
     * exactly-once, the legacy filter without a guarantee of its own.
     */
    static final String SHOW_QUERIES_EXTENDED = """
            [{"@type":"query_descriptions","statementText":"SHOW QUERIES EXTENDED;","warnings":[],
              "queryDescriptions":[
                {"id":"CSAS_ORDERS_RATED_11",
                 "statementText":"CREATE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=6) AS SELECT ...",
                 "windowType":null,"fields":[],"sources":["ORDERS_CANARY_SOURCE"],"sinks":["ORDERS_RATED"],
                 "topology":"...","executionPlan":"...",
                 "overriddenProperties":{"ksql.streams.auto.offset.reset":"earliest","processing.guarantee":"exactly_once_v2"},
                 "ksqlHostQueryStatus":{"ksqldb-0:8088":"PAUSED","ksqldb-1:8088":"PAUSED"},
                 "queryType":"PERSISTENT","queryErrors":[],"tasksMetadata":[],"state":"RUNNING",
                 "consumerGroupId":"_confluent-ksql-pksqlc-abcdequery_CSAS_ORDERS_RATED_11"},
                {"id":"CSAS_ORDERS_LEGACY_12",
                 "statementText":"CREATE STREAM ORDERS_LEGACY WITH (KAFKA_TOPIC='orders_legacy', PARTITIONS=6) AS SELECT ...",
                 "windowType":null,"fields":[],"sources":["ORDERS_RATED"],"sinks":["ORDERS_LEGACY"],
                 "topology":"...","executionPlan":"...","overriddenProperties":{},
                 "ksqlHostQueryStatus":{"ksqldb-0:8088":"RUNNING","ksqldb-1:8088":"PAUSED"},
                 "queryType":"PERSISTENT","queryErrors":[],"tasksMetadata":[],"state":"RUNNING",
                 "consumerGroupId":"_confluent-ksql-pksqlc-abcdequery_CSAS_ORDERS_LEGACY_12"}]}]
            """;

    /** SHOW PROPERTIES as current servers answer: a list of name/scope/value. */
    static String showProperties(String guarantee) {
        return showProperties(guarantee, 2000);
    }

    /**
     * SHOW PROPERTIES with a commit interval; mirrors ksqlDB's {@code PropertiesList} ({@code @type properties}: a list of
     * {@code Property} name, scope, value; {@code overwrittenProperties}, {@code defaultProperties}).
     */
    static String showProperties(String guarantee, long commitIntervalMs) {
        return """
                [{"@type":"properties","statementText":"SHOW PROPERTIES;","warnings":[],
                  "properties":[
                    {"name":"ksql.streams.auto.offset.reset","scope":"KSQL","value":"latest","editable":true,"level":"QUERY"},
                    {"name":"ksql.streams.commit.interval.ms","scope":"KSQL","value":"%d","editable":true,"level":"QUERY"},
                    {"name":"ksql.streams.processing.guarantee","scope":"KSQL","value":"%s","editable":true,"level":"QUERY"},
                    {"name":"ksql.service.id","scope":"KSQL","value":"pksqlc-abcde","editable":false,"level":"SERVER"}],
                  "overwrittenProperties":[],"defaultProperties":["ksql.streams.auto.offset.reset"]}]
                """.formatted(commitIntervalMs, guarantee);
    }

    /** SHOW PROPERTIES as servers before {@code PropertiesList.Property} answered: a map of name to value. */
    static final String SHOW_PROPERTIES_OLD = """
            [{"@type":"properties","statementText":"SHOW PROPERTIES;",
              "properties":{"ksql.streams.processing.guarantee":"at_least_once","ksql.service.id":"default_"}}]
            """;

    /**
     * The server versions at which the engine's features change, as GET /info reports them ({@link #info}), with what each
     * has: PAUSE/RESUME (ksqlDB 0.28.0, Confluent Platform 7.3.0), header columns beside a value schema from Schema Registry
     * (ksqlDB 0.27.0, Confluent Platform 7.3.0) and the MD5 function that key-hash routing needs (Confluent Platform 7.5.0; no
     * ksqlDB 0.x release). DESCRIBE FUNCTION MD5 answers {@link #describeFunction} where {@code md5}, else
     * {@link #functionNotFound}.
     */
    enum Gate {
        KSQLDB_0_28("0.28.2", true, true, false),
        KSQLDB_0_29("0.29.0", true, true, false),
        PLATFORM_7_3("7.3.0", true, true, false),
        PLATFORM_7_5("7.5.0", true, true, true);

        final String version;
        final boolean pauseResume;
        final boolean headerColumns;
        final boolean md5;

        Gate(String version, boolean pauseResume, boolean headerColumns, boolean md5) {
            this.version = version;
            this.pauseResume = pauseResume;
            this.headerColumns = headerColumns;
            this.md5 = md5;
        }

        String info() {
            return KsqlFixtures.info(version);
        }

        /** The answer to DESCRIBE FUNCTION MD5, with its HTTP status. */
        int md5Status() {
            return md5 ? 200 : 400;
        }

        String md5Answer() {
            return md5 ? describeFunction("MD5") : functionNotFound("MD5");
        }
    }

    /** One persistent query for {@link #queriesExtended}: {@code statuses} is one status per ksqlDB server. */
    record Query(String id, String sink, String source, String consumerGroupId, String... statuses) {
    }

    /** The properties the engine sends with each query, as QueryDescription's {@code overriddenProperties} keeps them. */
    static final String EXACTLY_ONCE_QUERY = "{\"ksql.streams.auto.offset.reset\":\"earliest\",\"processing.guarantee\":\"exactly_once_v2\"}";

    /** SHOW QUERIES EXTENDED listing the given queries, each with its status per server, created with exactly-once. */
    static String queriesExtended(Query... queries) {
        return queriesExtended(EXACTLY_ONCE_QUERY, queries);
    }

    /**
     * SHOW QUERIES EXTENDED; mirrors ksqlDB's {@code QueryDescriptionList} ({@code @type query_descriptions}) of
     * {@code QueryDescription}: id, statementText, windowType, fields, sources, sinks, topology, executionPlan,
     * overriddenProperties, ksqlHostQueryStatus (status per server), queryType, queryErrors, tasksMetadata, state (kept for
     * backwards compatibility: RUNNING unless a server reports ERROR, so RUNNING for a paused query) and consumerGroupId.
     * It has no {@code sinkKafkaTopics} and no {@code statusCount} (those are {@code RunningQuery}'s, in SHOW QUERIES).
     */
    static String queriesExtended(String overriddenProperties, Query... queries) {
        StringBuilder list = new StringBuilder();
        for (Query q : queries) {
            StringBuilder hosts = new StringBuilder();
            for (int i = 0; i < q.statuses().length; i++) {
                hosts.append(i == 0 ? "" : ",").append("\"ksqldb-").append(i).append(":8088\":\"").append(q.statuses()[i]).append('"');
            }
            list.append(list.length() == 0 ? "" : ",").append("""
                    {"id":"%s","statementText":"CREATE STREAM %s AS SELECT ...","windowType":null,"fields":[],
                     "sources":["%s"],"sinks":["%s"],"topology":"...","executionPlan":"...",
                     "overriddenProperties":%s,"ksqlHostQueryStatus":{%s},"queryType":"PERSISTENT","queryErrors":[],
                     "tasksMetadata":[],"state":"RUNNING","consumerGroupId":"%s"}
                    """.formatted(q.id(), q.sink(), q.source(), q.sink(), overriddenProperties, hosts, q.consumerGroupId()));
        }
        return """
                [{"@type":"query_descriptions","statementText":"SHOW QUERIES EXTENDED;","warnings":[],
                  "queryDescriptions":[%s]}]
                """.formatted(list);
    }

    /**
     * SHOW STREAMS listing the given stream names; mirrors {@code StreamsList} ({@code @type streams}) of
     * {@code SourceInfo.Stream} (type, name, topic, keyFormat, valueFormat, isWindowed).
     */
    static String streams(String... names) {
        StringBuilder list = new StringBuilder();
        for (String n : names) {
            list.append(list.length() == 0 ? "" : ",").append("""
                    {"type":"STREAM","name":"%s","topic":"%s","keyFormat":"KAFKA","valueFormat":"JSON_SR","isWindowed":false}
                    """.formatted(n, n.toLowerCase()));
        }
        return """
                [{"@type":"streams","statementText":"SHOW STREAMS;","streams":[%s],"warnings":[]}]
                """.formatted(list);
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
