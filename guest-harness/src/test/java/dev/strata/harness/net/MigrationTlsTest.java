package dev.strata.harness.net;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 17, TLS between the hosts: a destination whose NBD server requires TLS refuses a plain
 * source with QEMU's error, a source trusting another CA fails the handshake, and the migration
 * with the right client credentials runs encrypted to an identical copy while the guest verifies.
 */
@Timeout(240)
class MigrationTlsTest extends TwoHostTest {

    @Test
    void encryptedMigrationAndWhatTheDestinationRefuses() throws Exception {
        LinkPki pki = LinkPki.create(dir.resolve("pki"), link.destination().address());
        LinkPki other = LinkPki.create(dir.resolve("other"), link.destination().address());
        Path src = rig.image("src.qcow2", true);
        Path dst = rig.image("dst.qcow2", false);
        MachineProcess d = rig.strata(link.destination(), "dst", "-object", "tls-creds-x509,id=tls0,endpoint=server,dir=" + pki.serverDir,
                MigrationRig.destinationDisk(dst)[0], MigrationRig.destinationDisk(dst)[1]);
        HostPort at = rig.serve(d, ", \"tls-creds\": \"tls0\"");
        MachineProcess s = rig.strataSource(src, "-object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + pki.clientDir);
        // credentials made at run time reach blockdev-add as well
        s.ok("object-add", "\"qom-type\": \"tls-creds-x509\", \"id\": \"wrongca\", \"endpoint\": \"client\", \"dir\": \""
                + other.clientDir + "\"");
        String plain = s.call("blockdev-add", "\"driver\": \"nbd\", \"node-name\": \"plain\", \"export\": \"disk\", \"server\": "
                + "{\"type\": \"inet\", \"host\": \"" + at.host() + "\", \"port\": \"" + at.port() + "\"}");
        assertTrue(plain.contains("TLS negotiation required before option 7 (go)"), plain);
        String wrong = s.call("blockdev-add", "\"driver\": \"nbd\", \"node-name\": \"wrong\", \"export\": \"disk\", \"server\": "
                + "{\"type\": \"inet\", \"host\": \"" + at.host() + "\", \"port\": \"" + at.port() + "\"}, \"tls-creds\": \"wrongca\"");
        assertTrue(wrong.contains("The certificate hasn't got a known issuer"), wrong);

        MigrationRig.addRemote(s, at, ", \"tls-creds\": \"tls0\"");
        int since = s.eventCount();
        s.ok("blockdev-mirror", "\"device\": \"virtio0\", \"job-id\": \"mig\", \"target\": \"remote\", \"sync\": \"full\"");
        MigrationRig.awaitReady(s, since);
        Thread.sleep(500);
        s.ok("stop", "");
        MigrationRig.finish(s, "block-job-cancel");
        rig.assertSameOverNbd(src, at, "--object", "tls-creds-x509,id=tls0,endpoint=client,dir=" + pki.clientDir);
        d.ok("nbd-server-stop", "");
        d.quit();
        MigrationRig.assertSame(src, dst);
        MigrationRig.assertGuestVerified(s.quit());
        MigrationRig.assertClean(dst);
    }
}
