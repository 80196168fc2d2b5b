package dev.strata.harness.bench;

import dev.strata.harness.net.HostPort;
import dev.strata.harness.net.LinkShape;
import dev.strata.harness.net.TwoHostLink;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The shaped link of {@link MigrateBench}: the source runs in one network namespace and the
 * destination server in another, joined by a veth pair at 1 Gbit/s ({@code tbf}) with 5 ms each
 * way ({@code netem}, or the fixture's delay proxy where the kernel has none), from the two-host
 * fixture {@link TwoHostLink}. Needs root; otherwise {@link #open} says why and the link is skipped.
 *
 * <p>One benchmark thread.
 */
final class ShapedLink extends MigrationLink {

    /** The link's rate. */
    static final long RATE_BITS_PER_SECOND = 1_000_000_000L;
    static final long DELAY_MS_EACH_WAY = 5;
    /** The destination server's port inside its namespace (nothing else listens there). */
    private static final int PORT = 10809;

    private final TwoHostLink link;

    private ShapedLink(Path dir, TwoHostLink link) {
        super("shaped", dir);
        this.link = link;
    }

    static MigrationLink open(Path dir) throws Unavailable, IOException {
        String why = TwoHostLink.unavailableReason().orElse(null);
        if (why != null) {
            throw new Unavailable("two network namespaces cannot be made here (" + why + ")");
        }
        TwoHostLink l = TwoHostLink.open(LinkShape.of(RATE_BITS_PER_SECOND / 1_000_000, DELAY_MS_EACH_WAY));
        System.out.println("shaped link: " + l.shape().label() + (l.delayByNetem() ? " (netem)" : " (delay proxy)"));
        return new ShapedLink(dir, l);
    }

    @Override
    Served serve(String server, Path image) throws IOException, InterruptedException {
        String address = link.destination().address();
        Process p = link.destination().start(serverCommand(server, image, List.of("-b", address, "-p", Integer.toString(PORT))),
                dir.resolve(server + "-server.log"), dir);
        awaitListening(p, this::listening, server);
        HostPort reach = link.reach(link.destination(), PORT);
        return new Served(null, reach.host(), reach.port(), p);
    }

    /** Whether something listens on {@link #PORT} inside the destination namespace. */
    private boolean listening() {
        try {
            return !link.destination().exec("ss", "-Hltn", "sport = :" + PORT).isBlank();
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    List<String> sourceCommand(List<String> cmd) {
        return link.source().command(cmd);
    }

    @Override
    public void close() {
        link.close();
    }
}
