/**
 * Two "hosts" on one machine for migration tests and benchmarks: network namespaces joined by a
 * veth pair, a rate limit ({@code tbf}) on both ends and a delay each way (kernel {@code netem}
 * where present, otherwise a forwarding {@link dev.strata.harness.net.DelayProxy} that holds
 * every byte for the delay).
 *
 * <pre>
 *   namespace A (10.77.0.1)  ── veth, tbf both ends ──  namespace B (10.77.0.2)
 *     client ──────────────────────────────────────────▶ DelayProxy :P' ──▶ server :P
 * </pre>
 *
 * {@link dev.strata.harness.net.TwoHostLink} is the entry point; everything it creates is removed
 * on close, by a shutdown hook if the JVM ends first, and by the next run if the JVM was killed.
 */
package dev.strata.harness.net;
