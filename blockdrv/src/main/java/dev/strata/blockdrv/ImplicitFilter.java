package dev.strata.blockdrv;

/**
 * The filter node QEMU 7.2 inserts while a block job runs ({@code copy-on-read} above a stream's
 * top, {@code mirror_top} above a mirror's or active commit's source, {@code commit_top} between
 * an intermediate commit's top and the layer above it, {@code copy-before-write} above a backup's
 * source), kept as what users see of it: a generated node name, the driver, and the node it sits
 * on. Strata's jobs do their work without a node in the I/O path; this lets {@code
 * query-named-block-nodes}, {@code query-block} and {@code info block} show the graph as QEMU's.
 *
 * <p>Immutable; created and dropped by {@link BlockGraph} under its lock.
 *
 * @param nodeName  {@code #block<N><NN>}, from the same counter as every generated name
 * @param driver    {@code copy-on-read}, {@code mirror_top}, {@code commit_top} or {@code copy-before-write}
 * @param child     the node the filter sits on
 * @param implicit  true when QEMU marks it implicit ({@code query-block} then looks through it);
 *                  backup's {@code copy-before-write} is not
 * @param between   true when it sits between {@code child} and an overlay ({@code commit_top}),
 *                  so it appears in that overlay's backing chain
 */
public record ImplicitFilter(String nodeName, String driver, BlockNode child, boolean implicit, boolean between) {

    public static final String COPY_ON_READ = "copy-on-read";
    public static final String MIRROR_TOP = "mirror_top";
    public static final String COMMIT_TOP = "commit_top";
    public static final String COPY_BEFORE_WRITE = "copy-before-write";
}
