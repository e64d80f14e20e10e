package canary.platform;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import canary.common.AtomicFile;
import canary.common.Text;
import canary.common.UserException;
import canary.context.Context;

/**
 * The confluent-cloud platform: runs {@code terraform} in the kit's {@code terraform/} folder and
 * turns {@code terraform output -json} into the files the other scripts read. Secrets go only into
 * files of mode 600 in the state folder; they are never printed.
 *
 * <ul>
 *   <li>{@code <state_dir>/client.properties}: Kafka client properties (SASL_SSL, PLAIN with the
 *       Kafka API key), for {@code kafka.properties_file}.</li>
 *   <li>{@code <state_dir>/ksqldb.env}: {@code KSQLDB_ENDPOINT}, {@code KSQLDB_API_KEY},
 *       {@code KSQLDB_API_SECRET}; the scripts read it for the {@code ${...}} references of the
 *       context that the environment does not set (a shell can also source it).</li>
 * </ul>
 */
public final class Terraform {

    /** System property naming the terraform binary (default: {@code terraform} on the PATH). */
    public static final String BINARY_PROPERTY = "canary.terraform";
    /** System property naming the terraform folder (default: {@code terraform/} of the kit). */
    public static final String DIR_PROPERTY = "canary.terraform.dir";

    /** The Confluent Cloud API key and secret Terraform needs; from the environment only. */
    public static final List<String> REQUIRED_ENV = List.of("TF_VAR_confluent_cloud_api_key", "TF_VAR_confluent_cloud_api_secret");
    /** Variables with defaults in terraform/variables.tf that the environment may set. */
    public static final List<String> OPTIONAL_ENV = List.of("TF_VAR_cloud", "TF_VAR_region", "TF_VAR_name_prefix",
            "TF_VAR_stream_governance_package", "TF_VAR_ksqldb_csu", "TF_VAR_datagen_quickstart");

    public static final String CLIENT_PROPERTIES = "client.properties";
    public static final String KSQLDB_ENV = "ksqldb.env";
    public static final List<String> KSQLDB_VARIABLES = List.of("KSQLDB_ENDPOINT", "KSQLDB_API_KEY", "KSQLDB_API_SECRET");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String binary;
    private final Path dir;
    private final Function<String, String> env;
    private final PrintWriter out;

    public Terraform(String binary, Path dir, Function<String, String> env, PrintWriter out) {
        this.binary = binary;
        this.dir = dir;
        this.env = env;
        this.out = out;
    }

    /** The binary: the given one, else the system property {@value #BINARY_PROPERTY}, else terraform on the PATH. */
    public static String binary(Path given) {
        if (given != null) {
            return given.toString();
        }
        String p = System.getProperty(BINARY_PROPERTY);
        return p == null || p.isBlank() ? "terraform" : p;
    }

    /** The terraform folder: the system property, else terraform/ in the working folder, beside or above the context file. */
    public static Path directory(Context ctx) {
        String p = System.getProperty(DIR_PROPERTY);
        if (p != null && !p.isBlank()) {
            return Path.of(p).toAbsolutePath();
        }
        List<Path> candidates = new ArrayList<>();
        candidates.add(Path.of("terraform").toAbsolutePath());
        candidates.add(ctx.directory().resolve("terraform"));
        if (ctx.directory().getParent() != null) {
            candidates.add(ctx.directory().getParent().resolve("terraform"));
        }
        for (Path c : candidates) {
            if (Files.isRegularFile(c.resolve("main.tf"))) {
                return c.normalize();
            }
        }
        throw new UserException("cannot find the kit's terraform/ folder (looked in " + candidates.stream().map(Path::toString).toList()
                + "): run from the kit's folder or set -D" + DIR_PROPERTY);
    }

    public Path dir() {
        return dir;
    }

    // ------------------------------------------------------------------ commands

    public static List<String> initArgs() {
        return List.of("init", "-input=false");
    }

    public static List<String> applyArgs(Context ctx) {
        List<String> a = new ArrayList<>(List.of("apply", "-auto-approve", "-input=false"));
        a.addAll(contextVars(ctx));
        return a;
    }

    public static List<String> destroyArgs(Context ctx) {
        List<String> a = new ArrayList<>(List.of("destroy", "-auto-approve", "-input=false"));
        a.addAll(contextVars(ctx));
        return a;
    }

    public static List<String> outputArgs() {
        return List.of("output", "-json");
    }

    /** The topic and its partition count come from the context, so the two never disagree. */
    private static List<String> contextVars(Context ctx) {
        return List.of("-var", "topic=" + ctx.topic(), "-var", "partitions=" + ctx.partitions());
    }

    /** One line per command, for --dry-run and for the log. */
    public String show(List<String> args) {
        return "terraform " + String.join(" ", args) + " (in " + dir + ")";
    }

    /** Refuses to start when the Confluent Cloud credentials are not in the environment. */
    public void requireCredentials() {
        List<String> missing = REQUIRED_ENV.stream().filter(n -> env.apply(n) == null || env.apply(n).isBlank()).toList();
        if (!missing.isEmpty()) {
            throw new UserException("platform confluent-cloud needs a Confluent Cloud API key in the environment: set "
                    + String.join(" and ", missing) + " (never in a file)");
        }
    }

    /** Which of the variables are set, without their values. */
    public String credentialsStatus() {
        List<String> parts = new ArrayList<>();
        for (String n : REQUIRED_ENV) {
            parts.add(n + (env.apply(n) == null || env.apply(n).isBlank() ? " (not set)" : " (set)"));
        }
        for (String n : OPTIONAL_ENV) {
            if (env.apply(n) != null) {
                parts.add(n + " (set)");
            }
        }
        return String.join(", ", parts);
    }

    public void init() {
        run(initArgs(), true);
    }

    public void apply(Context ctx) {
        run(applyArgs(ctx), true);
    }

    public void destroy(Context ctx) {
        run(destroyArgs(ctx), true);
    }

    /** {@code terraform output -json}, sensitive values included; captured, never printed. */
    public JsonNode outputs() {
        String json = run(outputArgs(), false);
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "terraform output -json did not print JSON: " + Text.firstLine(e.getMessage()));
        }
    }

    /** Runs terraform; its output goes to {@code out} (when {@code show}) or is returned (stderr always goes to out). */
    private String run(List<String> args, boolean show) {
        List<String> command = new ArrayList<>();
        command.add(binary);
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        pb.environment().put("TF_IN_AUTOMATION", "1");
        pb.redirectErrorStream(show);
        if (show) {
            out.println("running " + show(args));
            out.flush();
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot run " + binary + ": " + Text.firstLine(e.getMessage())
                    + " (install Terraform and put it on the PATH, or set -D" + BINARY_PROPERTY + ")");
        }
        StringBuilder captured = new StringBuilder();
        Thread errors = null;
        if (!show) {
            errors = pipe(p.getErrorStream(), line -> {
                out.println(line);
                out.flush();
            });
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (show) {
                    out.println(line);
                    out.flush();
                } else {
                    captured.append(line).append('\n');
                }
            }
            int code = p.waitFor();
            if (errors != null) {
                errors.join(5_000);
            }
            if (code != 0) {
                throw new UserException(UserException.ENVIRONMENT, "terraform " + args.get(0) + " failed with exit code " + code
                        + " (its output is above)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroy();
            throw new UserException(UserException.ENVIRONMENT, "interrupted while terraform " + args.get(0) + " ran");
        }
        return captured.toString();
    }

    private static Thread pipe(InputStream in, java.util.function.Consumer<String> sink) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) {
                    sink.accept(line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "terraform-stderr");
        t.setDaemon(true);
        t.start();
        return t;
    }

    // ------------------------------------------------------------------ files from the outputs

    /** Writes client.properties and ksqldb.env (mode 600) into the state folder; returns the two paths. */
    public static List<Path> writeClientFiles(JsonNode outputs, Path stateDir) {
        String bootstrap = output(outputs, "bootstrap_servers");
        String kafkaKey = output(outputs, "kafka_api_key");
        String kafkaSecret = output(outputs, "kafka_api_secret");
        String endpoint = output(outputs, "ksqldb_endpoint");
        String ksqlKey = output(outputs, "ksqldb_api_key");
        String ksqlSecret = output(outputs, "ksqldb_api_secret");
        for (String s : List.of(kafkaKey, kafkaSecret)) {
            if (s.contains("\"") || s.contains("\\")) {
                throw new UserException(UserException.ENVIRONMENT, "the Kafka API key or secret from terraform contains a quote or backslash, "
                        + "which a JAAS configuration cannot hold");
            }
        }
        String properties = "# Kafka client properties for Confluent Cloud, written by setup.java from terraform output.\n"
                + "# Holds the Kafka API secret: keep it out of version control.\n"
                + "bootstrap.servers=" + bootstrap + "\n"
                + "security.protocol=SASL_SSL\n"
                + "sasl.mechanism=PLAIN\n"
                + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + kafkaKey
                + "\" password=\"" + kafkaSecret + "\";\n"
                + "client.dns.lookup=use_all_dns_ips\n";
        Map<String, String> ksql = new LinkedHashMap<>();
        ksql.put("KSQLDB_ENDPOINT", endpoint);
        ksql.put("KSQLDB_API_KEY", ksqlKey);
        ksql.put("KSQLDB_API_SECRET", ksqlSecret);
        StringBuilder envFile = new StringBuilder("# ksqlDB endpoint and credentials, written by setup.java from terraform output.\n"
                + "# The scripts read it for ${KSQLDB_...} references the environment does not set; a shell can source it.\n");
        ksql.forEach((k, v) -> envFile.append(k).append('=').append(quote(v)).append('\n'));
        StateDir.ensure(stateDir);
        Path props = stateDir.resolve(CLIENT_PROPERTIES);
        Path env = stateDir.resolve(KSQLDB_ENV);
        writePrivate(props, properties);
        writePrivate(env, envFile.toString());
        return List.of(props, env);
    }

    private static String output(JsonNode outputs, String name) {
        JsonNode v = outputs.path(name).path("value");
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new UserException(UserException.ENVIRONMENT, "terraform output -json has no value for '" + name
                    + "': is terraform/outputs.tf the kit's?");
        }
        return v.asText();
    }

    /** Writes a file only its owner can read (mode 600 from its first byte). */
    static void writePrivate(Path file, String text) {
        try {
            AtomicFile.writePrivate(file, text);
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot write " + file + ": " + e.getMessage());
        }
    }

    private static String quote(String value) {
        return value.matches("[A-Za-z0-9_./:+=@,-]*") ? value : "'" + value.replace("'", "'\\''") + "'";
    }

    // ------------------------------------------------------------------ reading ksqldb.env back

    /**
     * The environment for loading a context: the process environment, and for what it does not set,
     * the variables setup wrote to {@code <state_dir>/ksqldb.env}.
     */
    public static Function<String, String> contextEnv(Path contextFile, Function<String, String> base) {
        Map<String, String> written = readEnvFile(stateDirOf(contextFile));
        return name -> {
            String v = base.apply(name);
            return v != null ? v : written.get(name);
        };
    }

    /**
     * Loads a context before Terraform has written ksqldb.env (setup, or teardown after a failed
     * setup): the ${KSQLDB_...} references it provides load as placeholders that reach nothing.
     */
    public static Context loadBeforeProvisioned(Path contextFile, Function<String, String> base) {
        Function<String, String> known = contextEnv(contextFile, base);
        return Context.load(contextFile, name -> {
            String v = known.apply(name);
            if (v == null && KSQLDB_VARIABLES.contains(name)) {
                return name.equals("KSQLDB_ENDPOINT") ? "https://ksqldb.not-provisioned-yet.invalid" : "not-provisioned-yet";
            }
            return v;
        });
    }

    /** The state folder a context file names, without loading the rest of it (null when it cannot tell). */
    static Path stateDirOf(Path contextFile) {
        try {
            JsonNode root = new YAMLMapper().readTree(Files.readString(contextFile));
            String dir = root == null ? "etc" : root.path("state_dir").asText("etc");
            if (dir.contains("${")) {
                return null;
            }
            Path p = Path.of(dir);
            return p.isAbsolute() ? p : contextFile.toAbsolutePath().getParent().resolve(p).normalize();
        } catch (IOException | RuntimeException e) {
            return null; // Context.load reports what is wrong with the file
        }
    }

    static Map<String, String> readEnvFile(Path stateDir) {
        Map<String, String> out = new LinkedHashMap<>();
        if (stateDir == null) {
            return out;
        }
        Path f = stateDir.resolve(KSQLDB_ENV);
        if (!Files.isRegularFile(f)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                String l = line.strip();
                int eq = l.indexOf('=');
                if (l.isEmpty() || l.startsWith("#") || eq < 1) {
                    continue;
                }
                String v = l.substring(eq + 1);
                if (v.length() >= 2 && v.startsWith("'") && v.endsWith("'")) {
                    v = v.substring(1, v.length() - 1).replace("'\\''", "'");
                }
                out.put(l.substring(0, eq), v);
            }
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot read " + f + ": " + e.getMessage());
        }
        return out;
    }
}
