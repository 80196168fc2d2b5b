package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The two-host fixture: namespaces, reachability, the delay, link down/up, cleanup. */
class TwoHostLinkTest {

    /** An echo server on port 7777 of whatever address the namespace has (python3, present with libnbd's tools). */
    private static final String ECHO_SERVER = """
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('0.0.0.0', 7777)); s.listen(4)
            while True:
                c, _ = s.accept()
                while True:
                    d = c.recv(65536)
                    if not d: break
                    c.sendall(d)
                c.close()
            """;

    /** Prints the smallest of 5 round trips of one byte, in microseconds; exit 3 when unreachable. */
    private static final String PING = """
            import socket, sys, time
            for i in range(100):
                try:
                    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2); break
                except OSError:
                    time.sleep(0.1)
            else:
                sys.exit(3)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            best = 10**9
            for i in range(5):
                t = time.monotonic(); c.sendall(b'x'); c.recv(1); best = min(best, time.monotonic() - t)
            print(int(best * 1e6))
            """;

    @BeforeAll
    static void needsNamespaces() {
        assumeTrue(TwoHostLink.unavailableReason().isEmpty(), () -> "two-host tests skipped: " + TwoHostLink.unavailableReason().get());
    }

    private static String namespaces() {
        return NetCommands.run("ip", "netns", "list").output();
    }

    @Test
    void delayHoldsEachByteBothWaysAndCloseRemovesEverything() throws Exception {
        String a;
        String b;
        try (TwoHostLink link = TwoHostLink.open(LinkShape.of(1000, 5))) {
            a = link.source().namespace();
            b = link.destination().namespace();
            assertTrue(namespaces().contains(a) && namespaces().contains(b), namespaces());
            assertNotEquals(a, b);
            Process echo = link.destination().start(List.of("python3", "-c", ECHO_SERVER), null, null);
            HostPort direct = new HostPort(link.destination().address(), 7777);
            HostPort delayed = link.reach(link.destination(), 7777);
            long rttDirect = Long.parseLong(link.source().exec("python3", "-c", PING, direct.host(), String.valueOf(direct.port())));
            long rttDelayed = Long.parseLong(link.source().exec("python3", "-c", PING, delayed.host(), String.valueOf(delayed.port())));
            // 5 ms each way: a round trip through the link takes at least 10 ms
            assertTrue(rttDelayed >= 10_000, "round trip " + rttDelayed + " us through " + link);
            if (!link.delayByNetem()) {
                assertTrue(rttDirect < rttDelayed, "direct " + rttDirect + " us, delayed " + rttDelayed + " us");
            }
            // the host's own namespace has no address on the link
            assertFalse(NetCommands.run("ip", "-4", "addr").output().contains(link.destination().address() + "/"));
            assertTrue(echo.isAlive());
            link.setLinkUp(false);
            assertEquals(3, NetCommands.run(link.source().command(List.of("python3", "-c", PING.replace("range(100)", "range(3)"),
                    direct.host(), "7777"))).status(), "unreachable while the link is down");
            link.setLinkUp(true);
            assertTrue(Long.parseLong(link.source().exec("python3", "-c", PING, direct.host(), "7777")) > 0);
            link.close();
            assertTrue(echo.waitFor(10, TimeUnit.SECONDS), "processes on a host are killed on close");
        }
        assertFalse(namespaces().contains(a), namespaces());
        assertFalse(namespaces().contains(b), namespaces());
    }

    @Test
    void namespacesOfADeadRunAreRemoved() throws IOException {
        long dead = 4_000_000;
        while (ProcessHandle.of(dead).isPresent()) {
            dead++;
        }
        String stale = TwoHostLink.PREFIX + dead + "-1-a";
        NetCommands.must("ip", "netns", "add", stale);
        try {
            assertTrue(TwoHostLink.cleanStale() >= 1);
            assertFalse(namespaces().contains(stale), namespaces());
        } finally {
            NetCommands.run("ip", "netns", "del", stale);
        }
    }
}
