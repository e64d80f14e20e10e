//DEPS org.apache.kafka:kafka-clients:4.1.1
//DEPS info.picocli:picocli:4.7.7
//DEPS com.fasterxml.jackson.core:jackson-databind:2.19.0
//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.19.0
//DEPS com.fasterxml.jackson.datatype:jackson-datatype-jsr310:2.19.0
//DEPS org.slf4j:slf4j-simple:1.7.36
//DEPS io.prometheus:prometheus-metrics-core:1.10.0
//DEPS io.prometheus:prometheus-metrics-exporter-httpserver:1.10.0
//SOURCES common/*.java context/*.java release/*.java kafka/*.java
//SOURCES engine/router/*.java engine/ksqldb/*.java platform/*.java cli/*.java
package canary;

/**
 * What every script compiles: the kit's dependencies (the {@code //DEPS} lines) and its layers (the
 * {@code //SOURCES} lines, relative to lib/). JBang follows both from a script's
 * {@code //SOURCES lib/Deps.java}. Two folders are left out because most scripts do not need them:
 * {@code lib/platform/broker/} (the local KRaft broker, with the broker jars and Scala: its own
 * {@code //DEPS} in {@code BrokerDeps.java}) and {@code lib/demo/} (the demo producer and dummy
 * service); setup, demo and the examples add them. {@code pom.xml} repeats the same versions and
 * {@code DepsAgreementTest} fails when the two disagree. The Prometheus client (metrics of the router and of exporter.java)
 * is here rather than in the scripts that serve metrics: the router and the cli layer, which every script compiles, use it.
 */
final class Deps {
    private Deps() {
    }
}
