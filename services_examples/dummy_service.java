///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION The dummy service: consumes a topic as one version of the service and logs each record it processed
//JAVA 17+
//SOURCES ../lib/Deps.java ../lib/demo/*.java

/** {@code ./jbang services_examples/dummy_service.java services_examples/context.yaml service_v1 orders} */
public class dummy_service {
    public static void main(String[] args) {
        canary.demo.DummyService.main(args);
    }
}
