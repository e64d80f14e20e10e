///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION The demo producer of the local platform: JSON orders with unique ids on the context's topic until SIGTERM
//JAVA 17+
//SOURCES ../lib/Deps.java ../lib/demo/*.java

/** {@code ./jbang services_examples/producer.java services_examples/context.yaml} */
public class producer {
    public static void main(String[] args) throws Exception {
        canary.demo.DemoProducer.main(args);
    }
}
