package dev.strata.harness.net;

/** A TCP address one host uses to reach a server on the other: {@code host:port}. */
public record HostPort(String host, int port) {

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
