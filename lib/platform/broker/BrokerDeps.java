//DEPS org.apache.kafka:kafka_2.13:4.1.1
//DEPS org.apache.kafka:kafka-server:4.1.1
//DEPS org.apache.kafka:kafka-server-common:4.1.1
//DEPS org.apache.kafka:kafka-metadata:4.1.1
package canary.platform.broker;

/**
 * The dependencies of the local KRaft broker (the broker, its server modules and Scala: about 43 MB).
 * Only the scripts that start a local broker pull them in, with {@code //SOURCES lib/platform/broker/*.java}:
 * setup, demo and the benchmark. {@code pom.xml} repeats the same versions ({@code DepsAgreementTest}).
 */
final class BrokerDeps {
    private BrokerDeps() {
    }
}
