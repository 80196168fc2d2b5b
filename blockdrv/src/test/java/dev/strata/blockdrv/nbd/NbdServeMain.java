package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.nio.file.Path;

/**
 * Serves one image until killed, for measuring with fio or poking with nbdsh by hand:
 * {@code NbdServeMain FILE FORMAT unix:PATH|HOST:PORT NAME [rw]}. Not used by the tests.
 */
public final class NbdServeMain {

    private NbdServeMain() {
    }

    public static void main(String[] args) throws Exception {
        BlockGraph graph = new BlockGraph();
        boolean rw = args.length > 4 && args[4].equals("rw");
        BlockNode node = graph.open(BlockOptions.parse("file=" + args[0] + ",format=" + args[1] + (rw ? "" : ",read-only=on"), null));
        BlockBackend be = graph.createBackend("export0", node, BlockBackend.CacheMode.WRITEBACK);
        NbdListenAddress addr = args[2].startsWith("unix:") ? NbdListenAddress.unix(Path.of(args[2].substring(5)))
                : NbdListenAddress.inet(args[2].substring(0, args[2].lastIndexOf(':')), Integer.parseInt(args[2].substring(args[2].lastIndexOf(':') + 1)));
        NbdTlsConfig tls = null;
        String ks = System.getProperty("tls.keystore");
        if (ks != null) {
            // -Dtls.keystore=server.p12 -Dtls.truststore=trust.p12 (password "secret"), client certificate required
            java.security.KeyStore k = java.security.KeyStore.getInstance("PKCS12");
            k.load(java.nio.file.Files.newInputStream(Path.of(ks)), "secret".toCharArray());
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance("PKIX");
            kmf.init(k, "secret".toCharArray());
            java.security.KeyStore t = java.security.KeyStore.getInstance("PKCS12");
            t.load(java.nio.file.Files.newInputStream(Path.of(System.getProperty("tls.truststore"))), "secret".toCharArray());
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
            tmf.init(t);
            javax.net.ssl.SSLContext ctx = NbdTlsContexts.server(kmf.getKeyManagers(), (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0]);
            tls = new NbdTlsConfig(ctx, true, true, dn -> {
                System.out.println("client " + dn);
                return true;
            });
        }
        NbdServer server = NbdServer.start(addr, new NbdServerOptions(0, tls));
        server.addExport(NbdExport.builder(args[3], be).writable(rw).multiConn(true).allocationDepth(true).build());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.stop();
            graph.closeAll();
        }));
        System.out.println("serving on " + server.localAddress());
        Thread.currentThread().join();
    }
}
