//DEPS org.apache.kafka:kafka-clients:4.1.1
//DEPS org.apache.kafka:kafka_2.13:4.1.1
//DEPS org.apache.kafka:kafka-server:4.1.1
//DEPS org.apache.kafka:kafka-server-common:4.1.1
//DEPS org.apache.kafka:kafka-metadata:4.1.1
//DEPS info.picocli:picocli:4.7.7
//DEPS com.fasterxml.jackson.core:jackson-databind:2.19.0
//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.19.0
//DEPS com.fasterxml.jackson.datatype:jackson-datatype-jsr310:2.19.0
//DEPS org.slf4j:slf4j-simple:1.7.36
package canary;

/**
 * The one place where the scripts' dependencies are declared. JBang collects the {@code //DEPS}
 * lines above from every file pulled in by {@code //SOURCES lib/*.java}; {@code pom.xml} repeats
 * the same versions and {@code DepsAgreementTest} fails when the two disagree.
 */
final class Deps {
    private Deps() {
    }
}
