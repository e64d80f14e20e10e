package canary;

/**
 * ksqlDB answers in the shapes its REST API documents and its entity classes serialize
 * ({@code CommandStatusEntity}, {@code Queries}, {@code QueryDescriptionList},
 * {@code PropertiesList}, {@code ServerInfo}, {@code KsqlErrorMessage},
 * {@code KsqlStatementErrorMessage}). Values are ours.
 */
final class KsqlFixtures {

    private KsqlFixtures() {
    }

    /** The answer to a CREATE/DROP/PAUSE statement, with the given sequence number. */
    static String commandStatus(String statement, String commandId, long sequence, String queryId) {
        return """
                [{"@type":"currentStatus","statementText":%s,"commandId":"%s",
                  "commandStatus":{"status":"SUCCESS","message":"Created query with ID %s","queryId":"%s"},
                  "commandSequenceNumber":%d,"warnings":[]}]
                """.formatted(quote(statement), commandId, queryId, queryId, sequence);
    }

    static String commandStatus(String statement, long sequence) {
        return """
                [{"@type":"currentStatus","statementText":%s,"commandId":"stream/X/create",
                  "commandStatus":{"status":"SUCCESS","message":"Stream created"},
                  "commandSequenceNumber":%d,"warnings":[]}]
                """.formatted(quote(statement), sequence);
    }

    static final String COMMAND_ERROR = """
            [{"@type":"currentStatus","statementText":"CREATE STREAM ORDERS_NEW AS SELECT * FROM ORDERS_RATED;",
              "commandId":"stream/ORDERS_NEW/create",
              "commandStatus":{"status":"ERROR","message":"Could not write to topic orders_new\\nCaused by: authorization"},
              "commandSequenceNumber":14,"warnings":[]}]
            """;

    static final String STATEMENT_ERROR = """
            {"@type":"statement_error","error_code":40001,
             "message":"Exception while preparing statement: ORDERS_CANARY_SOURCE does not exist.\\nStatement: CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;",
             "statementText":"CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;",
             "entities":[{"@type":"currentStatus","statementText":"CREATE STREAM ORDERS_CANARY_SOURCE;",
                          "commandId":"stream/ORDERS_CANARY_SOURCE/create",
                          "commandStatus":{"status":"SUCCESS","message":"Stream created"},
                          "commandSequenceNumber":21}]}
            """;

    static final String PARSE_ERROR_OLD_SERVER = """
            {"@type":"statement_error","error_code":40001,
             "message":"line 1:1: Syntax Error\\nUnknown statement 'PAUSE'",
             "statementText":"PAUSE CSAS_ORDERS_RATED_11;","entities":[]}
            """;

    static final String GENERIC_ERROR_503 = """
            {"@type":"generic_error","error_code":50300,
             "message":"The server is not ready to accept requests: command runner is catching up\\nretry later"}
            """;

    static final String GENERIC_ERROR_500 = """
            {"@type":"generic_error","error_code":50000,
             "message":"Could not write the statement into the command topic.","stackTrace":[]}
            """;

    static final String UNAUTHORIZED = """
            {"@type":"generic_error","error_code":40100,"message":"Unauthorized"}
            """;

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
        StringBuilder fields = new StringBuilder();
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

    static String info(String version) {
        return """
                {"KsqlServerInfo":{"version":"%s","kafkaClusterId":"lkc-12345","ksqlServiceId":"pksqlc-abcde",
                  "serverStatus":"RUNNING"}}
                """.formatted(version);
    }

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
                    {"name":"ksql.streams.auto.offset.reset","scope":"KSQL","value":"latest"},
                    {"name":"ksql.streams.commit.interval.ms","scope":"KSQL","value":"%d"},
                    {"name":"ksql.streams.processing.guarantee","scope":"KSQL","value":"%s"},
                    {"name":"ksql.service.id","scope":"KSQL","value":"pksqlc-abcde"}],
                  "overwrittenProperties":[],"defaultProperties":["ksql.streams.auto.offset.reset"]}]
                """.formatted(commitIntervalMs, guarantee);
    }

    /** SHOW PROPERTIES as older servers answered: a map. */
    static final String SHOW_PROPERTIES_OLD = """
            [{"@type":"properties","statementText":"SHOW PROPERTIES;",
              "properties":{"ksql.streams.processing.guarantee":"at_least_once","ksql.service.id":"default_"}}]
            """;

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

    /** SHOW STREAMS listing the given stream names. */
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
