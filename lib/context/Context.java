package canary.context;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import canary.common.Text;
import canary.common.UserException;
import canary.common.Words;

/**
 * The context of a migration, loaded from a YAML file: which topic, which two versions of the
 * service, which engine and platform, how to reach Kafka and ksqlDB. An immutable value; every
 * error names the file, the key and what is expected.
 */
public record Context(
        Path file,
        String name,
        String topic,
        int partitions,
        String keyType,
        String keyFormat,
        String valueFormat,
        EngineKind engine,
        PlatformKind platform,
        Routing routing,
        List<Rule> rules,
        Path stateDir,
        KafkaConnection kafka,
        Optional<KsqlConnection> ksqldb,
        Local local,
        Service legacy,
        Service newVersion,
        Map<String, JsonNode> extensions,
        List<Webhook> notifications) {

    /** Keys whose loading later features add: their raw YAML is kept for them. */
    static final Set<String> EXTENSION_KEYS = Set.of("rollout", "metrics");

    /**
     * A context name that can name Confluent Cloud resources: an environment's name (letters, digits, '-', '_', starting
     * and ending with a letter or digit), short enough for the service account names built on it (64 characters at most).
     * terraform/variables.tf checks the same.
     */
    public static final String CLOUD_NAME = "[A-Za-z0-9]([A-Za-z0-9_-]{0,38}[A-Za-z0-9])?";

    /** What routes the records: the embedded router (default) or ksqlDB persistent queries. */
    public enum EngineKind {
        ROUTER("router"), KSQLDB("ksqldb");

        private final String word;

        EngineKind(String word) {
            this.word = word;
        }

        @JsonValue
        public String word() {
            return word;
        }

        @JsonCreator
        public static EngineKind of(String word) {
            return Words.find(values(), EngineKind::word, word)
                    .orElseThrow(() -> new IllegalArgumentException("unknown engine '" + word + "': expected router or ksqldb"));
        }
    }

    /** Where the cluster comes from: started here, already there, or provisioned on Confluent Cloud. */
    public enum PlatformKind {
        LOCAL("local"), CONFLUENT_CLOUD("confluent-cloud"), EXISTING("existing");

        private final String word;

        PlatformKind(String word) {
            this.word = word;
        }

        @JsonValue
        public String word() {
            return word;
        }
    }

    /**
     * The environment variable through which the kit hands a process it starts (a version, the demo producer) the client
     * properties file of its own principal; without it, the process uses the context's {@code kafka} section.
     */
    public static final String KAFKA_PROPERTIES_ENV = "CANARY_KAFKA_PROPERTIES";

    /** Security of the local platform's brokers: none, or SASL (SCRAM-SHA-512) with ACLs (the standard KRaft authorizer). */
    public enum Security {
        NONE("none"), SASL("sasl");

        private final String word;

        Security(String word) {
            this.word = word;
        }

        public String word() {
            return word;
        }
    }

    /** How to reach Kafka: bootstrap servers, a client properties file, or both (the servers win). */
    public record KafkaConnection(Optional<String> bootstrapServers, Optional<Path> propertiesFile) {

        /**
         * The client properties of a process the kit started: the file named by {@value #KAFKA_PROPERTIES_ENV} when set (its
         * own principal), else this connection's.
         */
        public Properties clientPropertiesOfProcess(Function<String, String> env) {
            String own = env.apply(KAFKA_PROPERTIES_ENV);
            if (own == null || own.isBlank()) {
                return clientProperties(env);
            }
            return new KafkaConnection(bootstrapServers, Optional.of(Path.of(own))).clientProperties(env);
        }

        /** The client properties: the file (with ${ENV} references resolved) and the bootstrap servers. */
        public Properties clientProperties() {
            return clientProperties(System::getenv);
        }

        public Properties clientProperties(Function<String, String> env) {
            Properties p = new Properties();
            if (propertiesFile.isPresent()) {
                Path f = propertiesFile.get();
                try (Reader r = Files.newBufferedReader(f)) {
                    p.load(r);
                } catch (NoSuchFileException e) {
                    throw new ContextException("the Kafka client properties file " + f + " does not exist (key kafka.properties_file)");
                } catch (IOException e) {
                    throw new ContextException("cannot read the Kafka client properties file " + f + ": " + e.getMessage());
                }
                for (String k : p.stringPropertyNames()) {
                    p.setProperty(k, substitute(p.getProperty(k), env, f + ": property '" + k + "'"));
                }
            }
            bootstrapServers.ifPresent(b -> p.setProperty("bootstrap.servers", b));
            if (p.getProperty("bootstrap.servers", "").isBlank()) {
                throw new ContextException(propertiesFile.map(Path::toString).orElse("context")
                        + ": no bootstrap.servers: set kafka.bootstrap_servers or bootstrap.servers in the properties file");
            }
            return p;
        }

        public String describe() {
            return bootstrapServers.orElseGet(() -> propertiesFile.map(f -> "the servers in " + f).orElse("?"));
        }
    }

    /** How to reach ksqlDB (engine ksqldb). The key and secret come from ${ENV} references. */
    /**
     * @param valueSchemaId the Schema Registry id of the producers' value schema: the filter queries write the versions'
     *                      topics with it ({@code VALUE_SCHEMA_ID}), so the versions read the producers' schema
     */
    public record KsqlConnection(String endpoint, Optional<String> apiKey, Optional<String> apiSecret, Optional<Integer> valueSchemaId) {
        @Override
        public String toString() {
            return "KsqlConnection[endpoint=" + endpoint + ", apiKey=" + apiKey.map(k -> "***").orElse("none") + "]";
        }
    }

    /**
     * Settings of the local platform: ports of the first broker (broker i listens on {@code port + 2(i-1)} and
     * {@code controllerPort + 2(i-1)}), how many brokers, the demo producer's rate.
     */
    public record Local(int port, int controllerPort, double producerRate, boolean producer, int brokers, Security security) {

        /** The client ports of the brokers, in node order. */
        public List<Integer> ports() {
            return java.util.stream.IntStream.range(0, brokers).mapToObj(i -> port + 2 * i).toList();
        }

        public String bootstrapServers() {
            return String.join(",", ports().stream().map(p -> "127.0.0.1:" + p).toList());
        }
    }

    /**
     * One version of the service: its consumer group and how to run it. Either {@code run}, a
     * long-running command the kit starts detached and stops by pid, or {@code start}/{@code stop},
     * commands that return at once (for example scaling a deployment). Placeholders:
     * {@code {service}} (the group id), {@code {topic}}, {@code {context}} (this file's absolute path).
     */
    /**
     * @param kafkaProperties the client properties file of the version's own principal, handed to its commands as
     *                        {@value #KAFKA_PROPERTIES_ENV}; on the local platform with {@code security: sasl}, the one setup writes
     */
    public record Service(Role role, String group, List<String> run, List<String> start, List<String> stop, Optional<Path> kafkaProperties) {

        public boolean longRunning() {
            return !run.isEmpty();
        }

        public List<String> command(List<String> template, String topic, Path contextFile) {
            List<String> out = new ArrayList<>(template.size());
            for (String arg : template) {
                out.add(arg.replace("{service}", group).replace("{topic}", topic)
                        .replace("{context}", contextFile.toAbsolutePath().toString()));
            }
            return out;
        }
    }

    /** Where the local platform with {@code security: sasl} keeps the client properties files of its principals (mode 600). */
    public Path clientsDir() {
        return clientsDir(stateDir);
    }

    static Path clientsDir(Path stateDir) {
        return stateDir.resolve("kafka").resolve("clients");
    }

    public String legacyTopic() {
        return topic + "_legacy";
    }

    public String newTopic() {
        return topic + "_new";
    }

    public String ratedTopic() {
        return topic + "_rated";
    }

    /** The router's routed counts per partition of the original topic (compacted; see {@code canary.kafka.RoutedCounts}). */
    public String countsTopic() {
        return topic + "_canary_counts";
    }

    public String stateTopic() {
        return topic + "_canary_state";
    }

    /** The consumer group of the embedded router. */
    public String routerGroup() {
        return "canary-router-" + name;
    }

    public Service service(Role role) {
        return role == Role.LEGACY ? legacy : newVersion;
    }

    /** The derived topic a version reads while routing runs: {@code <topic>_legacy} or {@code <topic>_new}. */
    public String derivedTopic(Role role) {
        return role == Role.LEGACY ? legacyTopic() : newTopic();
    }

    /** The directory commands of the services run in: the context file's folder. */
    public Path directory() {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? Path.of(".").toAbsolutePath() : parent;
    }

    // ------------------------------------------------------------------ loading

    public static Context load(Path file) {
        return load(file, System::getenv);
    }

    public static Context load(Path file, Function<String, String> env) {
        JsonNode root;
        try {
            String text = Files.readString(file);
            root = YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build().readTree(text);
        } catch (NoSuchFileException e) {
            throw new ContextException(file + ": the context file does not exist");
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
            throw new ContextException(file + ": not valid YAML" + where + ": " + Text.firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new ContextException(file + ": cannot read the context file: " + e.getMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ContextException(file + ": the context file is empty; see services_examples/context.yaml");
        }
        return new Reader2(file, env).context(root);
    }

    /** Walks the YAML tree and says exactly which key is wrong. */
    private static final class Reader2 {
        private final Path file;
        private final Function<String, String> env;

        Reader2(Path file, Function<String, String> env) {
            this.file = file;
            this.env = env;
        }

        Context context(JsonNode root) {
            Map<String, JsonNode> m = object(root, "", Set.of("name", "topic", "partitions", "key_type", "key_format",
                    "value_format", "engine", "platform", "routing", "rules", "state_dir", "kafka", "ksqldb", "local", "legacy", "new", "rollout", "metrics", "notifications"));
            String name = string(m, "", "name", null, "a context name (letters, digits, '.', '_', '-')");
            if (!name.matches("[A-Za-z0-9._-]+")) {
                throw bad("name", "letters, digits, '.', '_' or '-' only", name);
            }
            String topic = string(m, "", "topic", null, "the name of the original topic");
            if (!topic.matches("[A-Za-z0-9._-]{1,249}") || topic.equals(".") || topic.equals("..")) {
                throw bad("topic", "a valid Kafka topic name (letters, digits, '.', '_', '-'; at most 249; not '.' or '..')", topic);
            }
            int partitions = integer(m, "", "partitions", 6, 1, 10_000);
            String keyType = string(m, "", "key_type", "STRING", "a ksqlDB key type such as STRING or BIGINT").toUpperCase(Locale.ROOT);
            String keyFormat = choice(m, "", "key_format", "KAFKA", List.of("KAFKA", "JSON", "JSON_SR", "AVRO", "PROTOBUF", "PROTOBUF_NOSR", "DELIMITED", "NONE"), true);
            String valueFormat = choice(m, "", "value_format", "JSON", List.of("JSON", "JSON_SR", "AVRO", "PROTOBUF", "PROTOBUF_NOSR", "DELIMITED", "KAFKA"), true);
            EngineKind engine = EngineKind.of(choice(m, "", "engine", "router", List.of("router", "ksqldb"), false));
            PlatformKind platform = switch (choice(m, "", "platform", "local", List.of("local", "confluent-cloud", "existing"), false)) {
                case "local" -> PlatformKind.LOCAL;
                case "confluent-cloud" -> PlatformKind.CONFLUENT_CLOUD;
                default -> PlatformKind.EXISTING;
            };
            if (platform == PlatformKind.CONFLUENT_CLOUD && !name.matches(CLOUD_NAME)) {
                throw bad("name", "with platform confluent-cloud, 1 to 40 letters, digits, '-' or '_', starting and ending with a "
                        + "letter or digit (it names the Confluent Cloud environment and prefixes its service accounts)", name);
            }
            Routing routing = Routing.parse(choice(m, "", "routing", "random", List.of("random", "key-hash", "partitions"), false));
            List<Rule> rules = rules(m.get("rules"), routing);
            Path stateDir = path(string(m, "", "state_dir", "etc", "a folder for the kit's state (pids, logs, local broker data)"));

            Local local = local(m.get("local"));
            KafkaConnection kafka = kafka(m.get("kafka"), platform, local, stateDir);
            Optional<KsqlConnection> ksql = Optional.ofNullable(m.get("ksqldb")).map(this::ksqldb);
            if (engine == EngineKind.KSQLDB && ksql.isEmpty()) {
                throw new ContextException(file + ": key 'ksqldb': required with engine ksqldb (endpoint, api_key, api_secret)");
            }
            Service legacy = localPrincipal(service(m.get("legacy"), Role.LEGACY), platform, local, stateDir);
            Service newVersion = localPrincipal(service(m.get("new"), Role.NEW), platform, local, stateDir);
            if (legacy.group().equals(newVersion.group())) {
                throw new ContextException(file + ": keys 'legacy.group' and 'new.group': the two versions need different consumer groups");
            }
            Map<String, JsonNode> ext = new LinkedHashMap<>();
            for (String k : EXTENSION_KEYS) {
                if (m.containsKey(k)) {
                    ext.put(k, m.get(k));
                }
            }
            Context c = new Context(file, name, topic, partitions, keyType, keyFormat, valueFormat, engine, platform, routing, rules,
                    stateDir, kafka, ksql, local, legacy, newVersion, Map.copyOf(ext), notifications(m.get("notifications")));
            MetricsSettings.of(c); // every script refuses a bad metrics key, not only the router instance that would serve it
            return c;
        }

        /** The match rules the migration starts with: a list of rules as the command line writes them. */
        List<Rule> rules(JsonNode node, Routing routing) {
            if (node == null || node.isNull()) {
                return List.of();
            }
            String expected = "a list of rules, each " + Rule.EXPECTED + " (e.g. [\"header:tenant=beta\"])";
            if (!node.isArray()) {
                throw bad("rules", expected, describe(node));
            }
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                JsonNode n = node.get(i);
                if (!n.isTextual()) {
                    throw bad("rules[" + i + "]", "a rule, " + Rule.EXPECTED, describe(n));
                }
                texts.add(n.asText());
            }
            if (!texts.isEmpty() && routing == Routing.PARTITIONS) {
                throw new ContextException(file + ": keys 'rules' and 'routing': rules and routing partitions exclude each other"
                        + " (a rule would split a partition's records between the two versions)");
            }
            try {
                return Rule.parseAll(texts);
            } catch (UserException e) {
                throw new ContextException(file + ": key 'rules': " + e.getMessage());
            }
        }

        /** The webhooks the kit posts its events to: {@code [{url, format: json | slack, timeout}]}. */
        List<Webhook> notifications(JsonNode node) {
            if (node == null || node.isNull()) {
                return List.of();
            }
            String expected = "a list of webhooks, each {url: https://..., format: json | slack, timeout: 5s}";
            if (!node.isArray()) {
                throw bad("notifications", expected, describe(node));
            }
            List<Webhook> hooks = new ArrayList<>();
            for (int i = 0; i < node.size(); i++) {
                String where = "notifications[" + i + "]";
                Map<String, JsonNode> m = object(node.get(i), where, Set.of("url", "format", "timeout"));
                String url = string(m, where, "url", null, "the webhook's http:// or https:// URL");
                java.net.URI uri;
                try {
                    uri = new java.net.URI(url);
                } catch (java.net.URISyntaxException e) {
                    throw bad(where + ".url", "an http:// or https:// URL", "'" + url + "'");
                }
                if (uri.getScheme() == null || !uri.getScheme().matches("https?") || uri.getHost() == null) {
                    throw bad(where + ".url", "an http:// or https:// URL with a host", "'" + url + "'");
                }
                Webhook.Format format = Webhook.Format.valueOf(choice(m, where, "format", "json", List.of("json", "slack"), false)
                        .toUpperCase(Locale.ROOT));
                String t = string(m, where, "timeout", "5s", "a duration such as 2s or 500ms");
                java.time.Duration timeout;
                try {
                    timeout = canary.common.Durations.parse(t);
                } catch (IllegalArgumentException e) {
                    throw bad(where + ".timeout", "a duration such as 2s or 500ms", "'" + t + "'");
                }
                if (timeout.isZero() || timeout.compareTo(java.time.Duration.ofMinutes(1)) > 0) {
                    throw bad(where + ".timeout", "a duration above 0 and at most 1m (a webhook delays the step by at most this)", "'" + t + "'");
                }
                hooks.add(new Webhook(uri, format, timeout));
            }
            return List.copyOf(hooks);
        }

        Local local(JsonNode node) {
            Map<String, JsonNode> m = node == null ? Map.of() : object(node, "local", Set.of("port", "controller_port", "producer_rate", "producer", "brokers", "security"));
            int port = integer(m, "local", "port", 39092, 1024, 65535);
            int controllerPort = integer(m, "local", "controller_port", port + 1, 1024, 65535);
            if (controllerPort == port) {
                throw bad("local.controller_port", "a port different from local.port", String.valueOf(controllerPort));
            }
            double rate = number(m, "local", "producer_rate", 10.0, 0.0, 100_000.0);
            boolean producer = bool(m, "local", "producer", true);
            int brokers = integer(m, "local", "brokers", 1, 1, 3);
            if (brokers == 2) {
                throw bad("local.brokers", "1 (a single broker) or 3 (a replicated cluster: replication factor 3, min.insync.replicas 2)", "2");
            }
            int last = Math.max(port, controllerPort) + 2 * (brokers - 1);
            if (last > 65535) {
                throw bad("local.port", "a port that leaves room for " + brokers + " brokers (two ports each, every second port)", String.valueOf(port));
            }
            if (brokers > 1 && Math.abs(controllerPort - port) % 2 == 0 && Math.abs(controllerPort - port) < 2 * brokers) {
                throw bad("local.controller_port", "a port none of the " + brokers + " brokers listens on (they use local.port, +2, +4)",
                        String.valueOf(controllerPort));
            }
            Security security = choice(m, "local", "security", "none", List.of("none", "sasl"), false).equals("sasl") ? Security.SASL : Security.NONE;
            return new Local(port, controllerPort, rate, producer, brokers, security);
        }

        /** A version of a secured local platform without its own kafka_properties uses the file setup writes for it. */
        Service localPrincipal(Service s, PlatformKind platform, Local local, Path stateDir) {
            if (platform != PlatformKind.LOCAL || local.security() != Security.SASL || s.kafkaProperties().isPresent()) {
                return s;
            }
            return new Service(s.role(), s.group(), s.run(), s.start(), s.stop(), Optional.of(clientsDir(stateDir).resolve(s.group() + ".properties")));
        }

        KafkaConnection kafka(JsonNode node, PlatformKind platform, Local local, Path stateDir) {
            Map<String, JsonNode> m = node == null ? Map.of() : object(node, "kafka", Set.of("bootstrap_servers", "properties_file"));
            Optional<String> servers = optionalString(m, "kafka", "bootstrap_servers");
            Optional<Path> props = optionalString(m, "kafka", "properties_file").map(this::path);
            if (platform == PlatformKind.LOCAL && local.security() == Security.SASL && props.isEmpty()) {
                // the kit's principal, which setup makes
                props = Optional.of(clientsDir(stateDir).resolve("kit.properties"));
            }
            if (servers.isEmpty() && props.isEmpty()) {
                if (platform == PlatformKind.LOCAL) {
                    servers = Optional.of(local.bootstrapServers());
                } else if (platform == PlatformKind.EXISTING) {
                    throw new ContextException(file + ": key 'kafka': required with platform existing (bootstrap_servers or properties_file)");
                }
            }
            return new KafkaConnection(servers, props);
        }

        KsqlConnection ksqldb(JsonNode node) {
            Map<String, JsonNode> m = object(node, "ksqldb", Set.of("endpoint", "api_key", "api_secret", "value_schema_id"));
            String endpoint = string(m, "ksqldb", "endpoint", null, "the ksqlDB REST endpoint, e.g. https://pksqlc-xxxxx.region.provider.confluent.cloud:443");
            if (!endpoint.matches("https?://.+")) {
                throw bad("ksqldb.endpoint", "an http:// or https:// URL", endpoint);
            }
            Optional<String> key = optionalString(m, "ksqldb", "api_key");
            Optional<String> secret = optionalString(m, "ksqldb", "api_secret");
            if (key.isPresent() != secret.isPresent()) {
                throw new ContextException(file + ": keys 'ksqldb.api_key' and 'ksqldb.api_secret': give both or neither");
            }
            for (String k : List.of("api_key", "api_secret")) {
                JsonNode v = m.get(k);
                if (v != null && !v.asText().contains("${")) {
                    throw bad("ksqldb." + k, "a ${ENV_VAR} reference (secrets never sit in the context file)", "a literal value");
                }
            }
            Optional<Integer> schemaId = Optional.empty();
            JsonNode id = m.get("value_schema_id");
            if (id != null) {
                if (!id.canConvertToInt() || !id.isIntegralNumber() || id.asInt() < 1) {
                    throw bad("ksqldb.value_schema_id", "the Schema Registry id of the producers' value schema (a positive integer)", id.asText());
                }
                schemaId = Optional.of(id.asInt());
            }
            return new KsqlConnection(endpoint.replaceAll("/+$", ""), key, secret, schemaId);
        }

        Service service(JsonNode node, Role r) {
            String role = r.word();
            if (node == null) {
                throw new ContextException(file + ": missing key '" + role + "' (the " + role + " version: group, and run or start/stop)");
            }
            Map<String, JsonNode> m = object(node, role, Set.of("group", "run", "start", "stop", "kafka_properties"));
            String group = string(m, role, "group", null, "the consumer group id of the " + role + " version");
            List<String> run = command(m, role, "run");
            List<String> start = command(m, role, "start");
            List<String> stop = command(m, role, "stop");
            if (run.isEmpty() == start.isEmpty() || start.isEmpty() != stop.isEmpty()) {
                throw new ContextException(file + ": key '" + role + "': expected either 'run' (a long-running command the kit starts and stops by pid) "
                        + "or both 'start' and 'stop' (commands that return at once)");
            }
            Optional<Path> props = optionalString(m, role, "kafka_properties").map(this::path);
            return new Service(r, group, run, start, stop, props);
        }

        List<String> command(Map<String, JsonNode> m, String parent, String key) {
            JsonNode n = m.get(key);
            if (n == null) {
                return List.of();
            }
            if (!n.isArray() || n.isEmpty()) {
                throw bad(parent + "." + key, "a non-empty list of arguments, e.g. [\"./my-service\", \"--group\", \"{service}\", \"--topic\", \"{topic}\"] (run without a shell)",
                        describe(n));
            }
            List<String> out = new ArrayList<>();
            for (JsonNode a : n) {
                if (!a.isValueNode() || a.isNull()) {
                    throw bad(parent + "." + key, "a list of strings", describe(n));
                }
                out.add(substitute(a.asText(), env, file + ": key '" + parent + "." + key + "'"));
            }
            return List.copyOf(out);
        }

        // -------------------------------------------------------------- typed readers

        Map<String, JsonNode> object(JsonNode node, String where, Set<String> allowed) {
            return mapping(file, node, where, allowed);
        }

        String string(Map<String, JsonNode> m, String where, String key, String dflt, String expected) {
            JsonNode n = m.get(key);
            if (n == null || n.isNull()) {
                if (dflt == null) {
                    throw new ContextException(file + ": missing key '" + qualify(where, key) + "' (" + expected + ")");
                }
                return dflt;
            }
            if (!n.isValueNode()) {
                throw bad(qualify(where, key), expected, describe(n));
            }
            String s = substitute(n.asText(), env, file + ": key '" + qualify(where, key) + "'").trim();
            if (s.isEmpty()) {
                throw bad(qualify(where, key), expected, "an empty value");
            }
            return s;
        }

        Optional<String> optionalString(Map<String, JsonNode> m, String where, String key) {
            return m.containsKey(key) && !m.get(key).isNull() ? Optional.of(string(m, where, key, null, "a string")) : Optional.empty();
        }

        String choice(Map<String, JsonNode> m, String where, String key, String dflt, List<String> allowed, boolean upper) {
            String v = string(m, where, key, dflt, "one of " + String.join(", ", allowed));
            String norm = upper ? v.toUpperCase(Locale.ROOT) : v.toLowerCase(Locale.ROOT);
            if (!allowed.contains(norm)) {
                throw bad(qualify(where, key), "one of " + String.join(", ", allowed), v);
            }
            return norm;
        }

        int integer(Map<String, JsonNode> m, String where, String key, int dflt, int min, int max) {
            JsonNode n = m.get(key);
            if (n == null || n.isNull()) {
                return dflt;
            }
            String expected = "a whole number from " + min + " to " + max;
            if (!n.canConvertToInt() || !n.isIntegralNumber()) {
                throw bad(qualify(where, key), expected, describe(n));
            }
            int v = n.asInt();
            if (v < min || v > max) {
                throw bad(qualify(where, key), expected, String.valueOf(v));
            }
            return v;
        }

        double number(Map<String, JsonNode> m, String where, String key, double dflt, double min, double max) {
            JsonNode n = m.get(key);
            if (n == null || n.isNull()) {
                return dflt;
            }
            String expected = "a number from " + min + " to " + max;
            if (!n.isNumber()) {
                throw bad(qualify(where, key), expected, describe(n));
            }
            double v = n.asDouble();
            if (v < min || v > max) {
                throw bad(qualify(where, key), expected, n.asText());
            }
            return v;
        }

        boolean bool(Map<String, JsonNode> m, String where, String key, boolean dflt) {
            JsonNode n = m.get(key);
            if (n == null || n.isNull()) {
                return dflt;
            }
            if (!n.isBoolean()) {
                throw bad(qualify(where, key), "true or false", describe(n));
            }
            return n.asBoolean();
        }

        Path path(String value) {
            Path p = Path.of(value);
            return p.isAbsolute() ? p : file.toAbsolutePath().getParent().resolve(p).normalize();
        }

        ContextException bad(String key, String expected, String got) {
            return new ContextException(file + ": key '" + key + "': expected " + expected + ", got " + got);
        }

        static String qualify(String where, String key) {
            return where.isEmpty() ? key : where + "." + key;
        }

    }

    /** The keys of a YAML mapping, rejecting anything but a mapping and any key not in {@code allowed}. */
    static Map<String, JsonNode> mapping(Path file, JsonNode node, String where, Set<String> allowed) {
        if (!node.isObject()) {
            throw new ContextException(file + ": " + (where.isEmpty() ? "the top level" : "key '" + where + "'")
                    + ": expected a mapping of keys, got " + describe(node));
        }
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!allowed.contains(e.getKey())) {
                throw new ContextException(file + ": unknown key '" + (where.isEmpty() ? e.getKey() : where + "." + e.getKey())
                        + "' (expected one of: " + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    /** How a YAML value is named in an error: 'text', a number, a list, a mapping. */
    static String describe(JsonNode n) {
        if (n.isObject()) {
            return "a mapping";
        }
        if (n.isArray()) {
            return n.isEmpty() ? "an empty list" : "a list";
        }
        if (n.isTextual()) {
            return "'" + n.asText() + "'";
        }
        return n.asText();
    }

    private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

    /** Replaces {@code ${NAME}} with the environment variable NAME; an unset variable is an error naming it. */
    static String substitute(String value, Function<String, String> env, String where) {
        Matcher m = ENV_REF.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String v = env.apply(m.group(1));
            if (v == null) {
                throw new ContextException(where + ": the environment variable " + m.group(1) + " is not set");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(v));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** A context file is wrong: the message names the file, the key and what is expected. */
    public static final class ContextException extends UserException {
        public ContextException(String message) {
            super(BAD_INPUT, message);
        }
    }
}
